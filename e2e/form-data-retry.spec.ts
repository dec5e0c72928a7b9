/**
 * A FormData body in real Chromium, to the real verifier (`/api/verified-orders`), with
 * the first answer lost after the origin ran the order. Chromium encodes a FormData with
 * a random boundary at every send: a retry of the platform's encoding was another payload
 * under the same key, which the verifier refuses with 422, and the order could run again.
 * The retry must be the same bytes, replayed; the origin's handler runs once.
 */
import type { Page, Request } from '@playwright/test';
import { expect, test, UUID_V4, type OrdersServer } from './support/test.js';

/** The boundary the SDK derives from the key: `submit-once-` and 16 hex digits. */
const DERIVED = /^multipart\/form-data; boundary=(submit-once-[0-9a-f]{16})$/;

/** What the origin parsed from the one run's body (see `formFields` in e2e/fixtures/api.ts). */
const FIELDS = {
  sku: 'F-9',
  note: 'line one\r\nline "two" ünïcode',
  receipt: 'receipt.pdf (application/pdf): %PDF-1.4 receipt',
  photo: 'blob (image/png): not really a png',
};

interface Sent {
  contentType: string;
  body: string;
}

/**
 * The first POST reaches the origin (its run is done, the verifier keeps its answer) and
 * its answer is lost on the way back; the next `thenFail` fail before reaching it; later
 * ones pass. Returns what the page sent. The first is sent on by Playwright (`route.fetch`,
 * the bytes Chromium captured), the retry by Chromium itself: the verifier compares the two.
 */
async function loseFirstAnswer(page: Page, thenFail = 0): Promise<Sent[]> {
  const sent: Sent[] = [];
  await page.route((url) => url.pathname === '/api/verified-orders', async (route) => {
    const request: Request = route.request();
    if (request.method() !== 'POST') return route.continue();
    sent.push({ contentType: (await request.headerValue('content-type')) ?? '', body: request.postDataBuffer()?.toString('latin1') ?? '' });
    if (sent.length > 1 + thenFail) return route.continue();
    if (sent.length === 1) await route.fetch();
    return route.abort('connectionreset');
  });
  return sent;
}

/**
 * Every request sent was the same bytes under the key's boundary, two reached the verifier,
 * and behind it the order ran once; the outcome was that run's answer, replayed.
 */
async function expectOneRunReplayed(orders: OrdersServer, sent: Sent[], outcome: { status: number; body: unknown; replayed: string | null }): Promise<void> {
  const log = await orders.log();
  expect(await orders.arrivals()).toBe(2);
  expect(log).toHaveLength(1);
  const [run] = log;
  expect(run?.key).toMatch(UUID_V4);
  expect(run?.form).toEqual(FIELDS);
  expect(outcome).toEqual({ status: 201, body: { orderId: 1, key: run?.key, lane: orders.lane }, replayed: 'true' });

  // The boundary is the key's, in the header and the bytes alike, and every resend is the same bytes.
  const [first, ...resent] = sent;
  expect(resent.length).toBeGreaterThan(0);
  const boundary = DERIVED.exec(first?.contentType ?? '')?.[1];
  expect(boundary, `Content-Type ${first?.contentType}`).toBeDefined();
  expect(run?.contentType).toBe(first?.contentType);
  expect(first?.body.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(first?.body.endsWith(`--${boundary}--\r\n`)).toBe(true);
  for (const again of resent) expect(again).toEqual(first);
}

for (const as of ['init', 'request'] as const) {
  test(`fetch (FormData in the ${as}): a FormData (fields, a File, a Blob) whose first answer is lost is retried as the same bytes, replayed; the order ran once`, async ({ page, orders }) => {
    await page.goto(orders.page());
    const sent = await loseFirstAnswer(page);
    const outcome = await page.evaluate(
      ([path, how]) => {
        window.so.setup({ retry: { attempts: 3, baseDelay: 10, maxDelay: 20 } });
        return window.so.submitForm(path, how);
      },
      [`/api/verified-orders?lane=${orders.lane}`, as] as const,
    );
    await expectOneRunReplayed(orders, sent, outcome);
  });
}

for (const how of ['post', 'postForm'] as const) {
  test(`axios (XHR adapter, ${how}): a FormData (fields, a File, a Blob) whose first answer is lost is retried as the same bytes, replayed; the order ran once`, async ({ page, orders }) => {
    await page.goto(orders.page(undefined, '/axios.html'));
    const sent = await loseFirstAnswer(page);
    const outcome = await page.evaluate(([path, method]) => window.soAxios.postForm(path, method), [`/api/verified-orders?lane=${orders.lane}`, how] as const);
    await expectOneRunReplayed(orders, sent, outcome);
  });
}

test('axios-retry making the resend (submit-once not retrying): the same bytes under the same key, replayed; the order ran once', async ({ page, orders }) => {
  await page.goto(orders.page(undefined, '/axios.html'));
  const sent = await loseFirstAnswer(page);
  const outcome = await page.evaluate((path) => window.soAxios.postForm(path, 'post', 2), `/api/verified-orders?lane=${orders.lane}`);
  await expectOneRunReplayed(orders, sent, outcome);
});

test('outbox: the retry after the lost answer cannot leave either, so the request is held; its replay is the same bytes, replayed; the order ran once', async ({ page, orders }) => {
  await page.goto(orders.page(undefined, '/outbox.html'));
  await page.waitForFunction(() => 'outboxPage' in window);
  // The first answer lost, the SDK's second attempt failed: the outbox holds the form and replays it.
  const sent = await loseFirstAnswer(page, 1);
  const outcome = await page.evaluate(() => window.outboxPage.submitForm());
  await expectOneRunReplayed(orders, sent, outcome);
  expect(await page.evaluate(() => window.outboxPage.events().map((e) => e.type))).toEqual(['queued', 'replayed']);
});

for (const as of ['init', 'request'] as const) {
  test(`fetch (FormData in the ${as}): the lost answer ends in AmbiguousOutcomeError; after a reload a new FormData of the same fields reuses the key, as the same bytes, replayed; the order ran once`, async ({ page, orders }) => {
    const path = `/api/verified-orders?lane=${orders.lane}`;
    await page.goto(orders.page());
    const sent = await loseFirstAnswer(page);
    const failed = await page.evaluate(
      async ([url, how]) => {
        window.so.setup({ retry: { attempts: 1 } });
        try {
          return await window.so.submitForm(url, how);
        } catch (error) {
          return { name: (error as Error).name, code: (error as { code?: string }).code };
        } finally {
          await window.so.idle();
        }
      },
      [path, as] as const,
    );
    expect(failed).toEqual({ name: 'AmbiguousOutcomeError', code: 'ambiguous-outcome' });

    // A new page and a new FormData: only the stored key and the form's fields are the same.
    await page.reload();
    const outcome = await page.evaluate(
      ([url, how]) => {
        window.so.setup({ retry: { attempts: 1 } });
        return window.so.submitForm(url, how);
      },
      [path, as] as const,
    );
    await expectOneRunReplayed(orders, sent, outcome);
  });
}
