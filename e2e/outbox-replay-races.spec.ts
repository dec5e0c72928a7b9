/**
 * The outbox in Chromium where a replay races something: the page reloaded while its replay
 * is still running at the origin, a Background Sync event fired while a page replays, and
 * the browser's storage quota when a request is held. Counted at the origin (the log holds
 * what ran behind the verifier).
 */
import type { Page } from '@playwright/test';
import { readOutbox } from './support/outbox-idb.js';
import { SECURE_ORIGIN } from './support/env.js';
import { expect, test, UUID_V4, type OrdersServer } from './support/test.js';

const ORDER = { sku: 'R-1', qty: 1, note: 'race' };
const TAG = 'submit-once-outbox:submit-once-outbox';

async function openOutboxPage(page: Page, orders: OrdersServer, query = ''): Promise<void> {
  await page.goto(`${orders.page(SECURE_ORIGIN, '/outbox.html')}${query}`);
  await page.waitForFunction(() => 'outboxPage' in window);
}

async function holdOffline(page: Page, body: unknown = ORDER): Promise<{ index: number; key: string }> {
  const index = await page.evaluate((order) => window.outboxPage.submit(order), body);
  const [held] = await page.evaluate(() => window.outboxPage.held(1));
  expect(held?.key).toMatch(UUID_V4);
  return { index, key: held!.key };
}

test('reloaded while its replay still runs at the origin: the next page sends it again with its key, waits out the 409 and reports the one order', async ({ page, context, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 1_500 }]);
  await openOutboxPage(page, orders);
  await context.setOffline(true);
  const { key } = await holdOffline(page);
  await context.setOffline(false);
  await expect.poll(() => orders.arrivals()).toBe(1);
  await page.reload();
  await page.waitForFunction(() => 'outboxPage' in window);

  await expect.poll(() => page.evaluate(() => window.outboxPage.events().filter((e) => e.type === 'replayed')), { timeout: 10_000 }).toEqual([{ type: 'replayed', id: key, status: 201 }]);
  expect((await orders.log()).map((r) => r.key)).toEqual([key]);
  expect(await orders.arrivals()).toBeGreaterThanOrEqual(2);
  await expect.poll(() => readOutbox(page)).toEqual([]);
});

test('a Background Sync fired while a page replays: the worker waits for the page (one Web Lock) and sends nothing more', async ({ context, orders }) => {
  const cdp = await context.newCDPSession(await context.newPage());
  const found = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const registration = registrations.find((r) => r.scopeURL === `${SECURE_ORIGIN}/` && !r.isDeleted);
      if (registration) resolve(registration.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  await orders.plan([{ kind: 'ok', delayMs: 1_500 }]);
  const page = await context.newPage();
  await openOutboxPage(page, orders, '&sync=off');
  await page.evaluate(() => window.outboxPage.registerServiceWorker());
  const registrationId = await found;
  await context.setOffline(true);
  const { index, key } = await holdOffline(page);
  await context.setOffline(false);
  await expect.poll(() => orders.arrivals()).toBe(1);
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: SECURE_ORIGIN, registrationId, tag: TAG, lastChance: false });

  expect(await page.evaluate((i) => window.outboxPage.outcome(i), index)).toMatchObject({ ok: true, status: 201, body: { key } });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await orders.arrivals()).toBe(1);
  expect((await orders.log()).map((r) => r.key)).toEqual([key]);
  expect(await page.evaluate(() => window.outboxPage.events().map((e) => e.type))).toEqual(['queued', 'replayed']);
  expect(await readOutbox(page)).toEqual([]);
});

test("past the browser's storage quota: the caller gets OutboxFullError (quota) at once, nothing held, nothing sent", async ({ page, context, orders }) => {
  await openOutboxPage(page, orders);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: SECURE_ORIGIN, quotaSize: 512 * 1024 });
  await context.setOffline(true);
  const index = await page.evaluate((order) => window.outboxPage.submit(order), { ...ORDER, note: 'x'.repeat(2 * 1024 * 1024) });
  const outcome = await page.evaluate((i) => window.outboxPage.outcome(i), index);
  expect(outcome).toMatchObject({ ok: false, error: { name: 'OutboxFullError', code: 'outbox-full' } });
  expect(JSON.stringify(outcome)).toContain('quota');
  expect(await readOutbox(page)).toEqual([]);
  await context.setOffline(false);
  await page.evaluate(() => window.outboxPage.flush());
  expect(await orders.arrivals()).toBe(0);
});
