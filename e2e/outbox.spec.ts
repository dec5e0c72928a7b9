/**
 * The offline outbox in real Chromium against the real verifier (`/api/verified-orders`:
 * `idempotency()` in front of the recording handler): a submission made offline is held
 * in IndexedDB with its key and sent once, with that key, when the connection returns,
 * after a reload, with two tabs open, and after a 503.
 */
import type { Page } from '@playwright/test';
import { readKeyRecords } from './support/idb.js';
import { readOutbox } from './support/outbox-idb.js';
import { SECURE_ORIGIN } from './support/env.js';
import { expect, test, UUID_V4, type OrdersServer } from './support/test.js';

const ORDER = { sku: 'A-1', qty: 2, note: 'offline' };

async function openOutboxPage(page: Page, orders: OrdersServer): Promise<void> {
  await page.goto(orders.page(SECURE_ORIGIN, '/outbox.html'));
  await page.waitForFunction(() => 'outboxPage' in window);
}

/** Submits offline and waits until the outbox holds it; returns the submission's index and the held key. */
async function submitOffline(page: Page): Promise<{ index: number; key: string }> {
  const index = await page.evaluate((order) => window.outboxPage.submit(order), ORDER);
  const [held, ...others] = await page.evaluate(() => window.outboxPage.held(1));
  expect(others).toEqual([]);
  expect(held?.key).toMatch(UUID_V4);
  return { index, key: held!.key };
}

test('offline: held with its key, no credential on disk, sent once with that key when the connection returns', async ({ page, context, orders }) => {
  await openOutboxPage(page, orders);
  await context.setOffline(true);
  const { index, key } = await submitOffline(page);

  const [stored] = await readOutbox(page);
  expect(stored).toMatchObject({ id: key, key, method: 'POST', state: 'queued', body: JSON.stringify(ORDER) });
  const names = stored!.headers.map(([name]) => name);
  expect(names.sort()).toEqual(['content-type', 'idempotency-key']);
  expect(JSON.stringify(stored)).not.toContain('outbox-e2e-secret');
  expect(await orders.arrivals()).toBe(0);

  await context.setOffline(false);
  const outcome = await page.evaluate((i) => window.outboxPage.outcome(i), index);
  expect(outcome).toMatchObject({ ok: true, status: 201, body: { key } });
  const log = await orders.log();
  expect(log.map((r) => [r.key, r.body])).toEqual([[key, JSON.stringify(ORDER)]]);
  expect(await orders.arrivals()).toBe(1);
  await expect.poll(() => readOutbox(page)).toEqual([]);
  expect(await page.evaluate(() => window.outboxPage.events().map((e) => e.type))).toEqual(['queued', 'replayed']);
});

test('offline, page closed, opened again online: replayed once on load, the outcome reported there, nothing left', async ({ context, orders }) => {
  const first = await context.newPage();
  await openOutboxPage(first, orders);
  await context.setOffline(true);
  const { key } = await submitOffline(first);
  await first.close();
  await context.setOffline(false);
  expect(await orders.arrivals()).toBe(0);

  const second = await context.newPage();
  await openOutboxPage(second, orders);
  await expect.poll(() => second.evaluate(() => window.outboxPage.events())).toEqual([{ type: 'replayed', id: key, status: 201 }]);
  expect((await orders.log()).map((r) => r.key)).toEqual([key]);
  expect(await orders.arrivals()).toBe(1);
  expect(await readOutbox(second)).toEqual([]);
  // The intent's key is done with: the same cart ordered again would be a new order, not this one replayed.
  await expect.poll(async () => (await readKeyRecords(second)).map((r) => [r.key, r.state])).toEqual([[key, 'settled']]);
});

test('two tabs open when the connection returns: one replay, and both tabs learn its answer', async ({ context, orders }) => {
  const [one, two] = [await context.newPage(), await context.newPage()];
  await openOutboxPage(one, orders);
  await openOutboxPage(two, orders);
  await context.setOffline(true);
  const { index, key } = await submitOffline(one);

  await context.setOffline(false);
  expect(await one.evaluate((i) => window.outboxPage.outcome(i), index)).toMatchObject({ ok: true, status: 201, body: { key } });
  await expect.poll(() => two.evaluate(() => window.outboxPage.events().map((e) => e.type))).toEqual(['replayed']);
  // Both tabs replay on `online`; the Web Lock lets one send while the other finds nothing left.
  await one.evaluate(() => window.outboxPage.flush());
  await two.evaluate(() => window.outboxPage.flush());
  expect(await orders.arrivals()).toBe(1);
  expect((await orders.log()).map((r) => r.key)).toEqual([key]);
});

test('a 503 on replay keeps the request, which is replayed later with the same key', async ({ page, context, orders }) => {
  await orders.plan([{ kind: 'status', status: 503, retryAfter: '2' }], { kind: 'ok' });
  await openOutboxPage(page, orders);
  await context.setOffline(true);
  const { index, key } = await submitOffline(page);

  await context.setOffline(false);
  await expect.poll(() => page.evaluate(() => window.outboxPage.events().map((e) => [e.type, e.status ?? null]))).toEqual([
    ['queued', null],
    ['deferred', 503],
  ]);
  // Kept after the 503 (its Retry-After holds the next replay back 2 s): never dropped.
  expect(await readOutbox(page)).toMatchObject([{ key, state: 'queued', attempts: 1 }]);

  expect(await page.evaluate((i) => window.outboxPage.outcome(i), index)).toMatchObject({ ok: true, status: 201, body: { key } });
  expect((await orders.log()).map((r) => [r.key, r.action])).toEqual([
    [key, 'status'],
    [key, 'ok'],
  ]);
  await expect.poll(() => readOutbox(page)).toEqual([]);
});
