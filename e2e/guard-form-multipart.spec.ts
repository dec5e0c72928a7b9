/**
 * `guardForm` as README's "Plain DOM" example shows it, in real Chromium, to the real
 * verifier, the first answer lost after the origin ran the order. The guard retries the
 * handler under the same key; a FormData sent by fetch is encoded with a new random
 * boundary at every send, so a retry of the context's `formData` was another payload to
 * the verifier (422): the order ran once and the page was told it was refused. The
 * context's `body` is the form's bytes under the key (a Blob whose type is the
 * Content-Type): the retry is the same bytes, replayed.
 */
import type { GuardLab } from './fixtures/guard-lab.js';
import { expect, test, type OrdersServer } from './support/test.js';

declare const lab: GuardLab;

/** Builds the form and guards it with README's handler (plus the refusal check README asks of every handler). */
async function guardedForm(page: import('@playwright/test').Page, orders: OrdersServer, fields: string): Promise<void> {
  await page.goto(orders.page(undefined, '/guard-lab.html'));
  await page.waitForFunction(() => 'lab' in window);
  await page.evaluate(
    ([action, html]) => {
      document.body.innerHTML = `<form method="post" enctype="multipart/form-data" action="${action}">${html}<button>Buy</button></form>`;
      const form = document.querySelector('form')!;
      const w = window as unknown as { results: unknown[] };
      w.results = [];
      lab.guardForm(
        form,
        ({ key, signal, body }) =>
          fetch(form.action, { method: 'POST', body, headers: { 'Idempotency-Key': key }, signal }).then((response) => {
            if (!response.ok) throw Object.assign(new Error(`refused ${response.status}`), { status: response.status });
            return { status: response.status, replayed: response.headers.get('idempotent-replayed') };
          }),
        {
          submitter: lab.engine(),
          debounce: 0,
          retry: { attempts: 3, baseDelay: 10, maxDelay: 20 },
          onSuccess: (data) => w.results.push(data),
          onError: (error) => w.results.push({ error: String(error) }),
        },
      );
    },
    [`/api/verified-orders?lane=${orders.lane}`, fields] as const,
  );
}

/**
 * The first POST reaches the origin (which runs the order) and its answer is lost; the next
 * `thenFail` fail before reaching it; later ones pass. Returns each POST's bytes and Content-Type.
 */
async function loseFirstAnswer(page: import('@playwright/test').Page, thenFail = 0): Promise<string[]> {
  const sent: string[] = [];
  await page.route((url) => url.pathname === '/api/verified-orders', async (route) => {
    const request = route.request();
    sent.push(`${await request.headerValue('content-type')}\n${request.postDataBuffer()?.toString('latin1')}`);
    if (sent.length > 1 + thenFail) return route.continue();
    if (sent.length > 1) return route.abort('connectionreset');
    await route.fetch();
    return route.abort('connectionreset');
  });
  return sent;
}

const results = (page: import('@playwright/test').Page) => page.evaluate(() => (window as unknown as { results: unknown[] }).results);

test('guardForm as README shows it (the handler fetches `body`), first answer lost: the retry is the same bytes, replayed; the order ran once', async ({ page, orders }) => {
  await guardedForm(page, orders, '<input name="sku" value="F-9"><textarea name="note">gift</textarea><input type="file" name="receipt">');
  await page.setInputFiles('input[type=file]', { name: 'receipt.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 receipt') });
  const sent = await loseFirstAnswer(page);
  await page.getByRole('button', { name: 'Buy' }).click();

  await expect.poll(() => results(page)).toEqual([{ status: 201, replayed: 'true' }]);
  expect(await orders.arrivals()).toBe(2);
  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.form).toEqual({ sku: 'F-9', note: 'gift', receipt: 'receipt.pdf (application/pdf): %PDF-1.4 receipt' });
  expect(log[0]?.contentType).toMatch(/^multipart\/form-data; boundary=submit-once-[0-9a-f]{16}$/);
  expect(sent).toHaveLength(2);
  expect(sent[1]).toBe(sent[0]);
});

test('guardForm as README shows it, first answer lost, the user pressing Buy again after the error: still one order, and the page learns it was placed', async ({ page, orders }) => {
  await guardedForm(page, orders, '<input name="sku" value="F-9">');
  // The guard's own retries fail too: the error reaches the page, the key is kept.
  let posts = 0;
  await page.route((url) => url.pathname === '/api/verified-orders', async (route) => {
    if (++posts > 3) return route.continue();
    if (posts === 1) await route.fetch();
    return route.abort('connectionreset');
  });
  const buy = page.getByRole('button', { name: 'Buy' });
  await buy.click();
  await expect.poll(async () => (await results(page)).length).toBe(1);
  await expect(buy).toBeEnabled();
  await buy.click();
  await expect.poll(async () => (await results(page)).length).toBe(2);
  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.form).toEqual({ sku: 'F-9' });
  expect((await results(page)).at(-1)).toEqual({ status: 201, replayed: 'true' });
});

test('guardForm with the outbox (`held` sends the FormData), every attempt lost after the first reached the origin: the replay is the bytes the attempts sent, replayed; one order', async ({ page, orders }) => {
  await page.goto(orders.page(undefined, '/guard-lab.html'));
  await page.waitForFunction(() => 'lab' in window);
  await page.evaluate((url) => {
    document.body.innerHTML = `<form method="post" enctype="multipart/form-data" action="${url}"><input name="sku" value="F-9"><button>Buy</button></form>`;
    const form = document.querySelector('form')!;
    const w = window as unknown as { results: unknown[]; outbox: ReturnType<GuardLab['createOutbox']> };
    w.results = [];
    w.outbox = lab.createOutbox({ databaseName: `guard-form-${Math.random()}`, backgroundSync: false, locks: null });
    lab.guardForm(
      form,
      ({ key, signal, body }) =>
        fetch(url, { method: 'POST', body, headers: { 'Idempotency-Key': key }, signal }).then((response) => {
          if (!response.ok) throw Object.assign(new Error(`refused ${response.status}`), { status: response.status });
          return { status: response.status, replayed: response.headers.get('idempotent-replayed') };
        }),
      {
        locks: null,
        retry: { attempts: 2, baseDelay: 10, maxDelay: 20 },
        outbox: w.outbox,
        queue: true,
        held: {
          request: (formData) => ({ method: 'POST', url, body: formData }),
          receive: (answer) => {
            if (!answer.ok) throw new Error(`refused ${answer.status}`);
            return { status: answer.status, replayed: answer.headers.get('idempotent-replayed') };
          },
        },
        onSuccess: (data) => w.results.push(data),
        onError: (error) => w.results.push({ error: String(error) }),
      },
    );
  }, `/api/verified-orders?lane=${orders.lane}`);
  const sent = await loseFirstAnswer(page, 1);
  await page.getByRole('button', { name: 'Buy' }).click();
  // Both attempts ended ambiguous: the submission is held, waiting.
  await expect.poll(() => page.evaluate(() => (window as unknown as { outbox: { list(): Promise<unknown[]> } }).outbox.list().then((items) => items.length))).toBe(1);
  await page.evaluate(() => (window as unknown as { outbox: { flush(): Promise<void> } }).outbox.flush());

  await expect.poll(() => results(page)).toEqual([{ status: 201, replayed: 'true' }]);
  expect(await orders.arrivals()).toBe(2);
  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.form).toEqual({ sku: 'F-9' });
  expect(sent).toHaveLength(3);
  expect(new Set(sent).size).toBe(1);
});
