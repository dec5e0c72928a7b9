/**
 * The write-ahead claim is durable with the default durability ('relaxed'): once the
 * request has reached the server, the key is in IndexedDB, and neither a reload nor a
 * crashed renderer right then loses it. (Relaxed gives up only an OS crash or power cut
 * before the browser's own flush; see the README's cost table.)
 */
import type { BrowserContext, Page } from '@playwright/test';
import { readKeyRecords } from './support/idb.js';
import { expect, test, UUID_V4 } from './support/test.js';

const ORDER = { sku: 'DURABLE', qty: 1 };

async function submitAndWaitForTheServer(page: Page, orders: { path: string; log(): Promise<Array<{ key: string | null }>> }) {
  await page.evaluate(() => window.so.setup());
  void page.evaluate(([p, b]) => window.so.submit(p as string, b), [orders.path, ORDER] as const).catch(() => undefined);
  // The request left after the claim's transaction completed: from here on the key must survive.
  await expect.poll(async () => (await orders.log()).length).toBe(1);
  const [request] = await orders.log();
  expect(request?.key).toMatch(UUID_V4);
  return request!.key!;
}

/** Crashes the page's renderer, then reads the key records from a new page of the site. */
async function crashAndReadKeys(context: BrowserContext, page: Page, orders: { page(): string }) {
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  void cdp.send('Page.crash').catch(() => undefined);
  await crashed;
  const next = await context.newPage();
  await next.goto(orders.page());
  return readKeyRecords(next);
}

test('a reload right after the claim keeps the key', async ({ page, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 15_000 }]);
  await page.goto(orders.page());
  const key = await submitAndWaitForTheServer(page, orders);
  await page.reload();
  const records = await readKeyRecords(page);
  expect(records).toEqual([expect.objectContaining({ key, state: 'pending' })]);
});

test('a renderer crash right after the claim keeps the key', async ({ context, page, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 15_000 }]);
  await page.goto(orders.page());
  const key = await submitAndWaitForTheServer(page, orders);
  const records = await crashAndReadKeys(context, page, orders);
  expect(records).toEqual([expect.objectContaining({ key, state: 'pending' })]);
});

test('a burst of different intents claims in one transaction, and every key survives a crash once sent', async ({ context, page, orders }) => {
  await orders.plan([], { kind: 'ok', delayMs: 15_000 });
  // Counts the readwrite transactions on the key store, with the platform's own method.
  await page.addInitScript(() => {
    const transaction = IDBDatabase.prototype.transaction;
    const counted = { claims: 0 };
    (window as unknown as { counted: typeof counted }).counted = counted;
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, names, mode, options) {
      if (this.name === 'submit-once-v1' && mode === 'readwrite') counted.claims += 1;
      return transaction.call(this, names, mode, options);
    };
  });
  await page.goto(orders.page());
  await page.evaluate(() => window.so.setup());
  // Three orders sent in one task (a page submitting a batch).
  void page
    .evaluate((path) => Promise.all(['A', 'B', 'C'].map((sku) => window.so.submit(path, { sku, qty: 1 }))), orders.path)
    .catch(() => undefined);
  await expect.poll(async () => (await orders.log()).length).toBe(3);
  expect(await page.evaluate(() => (window as unknown as { counted: { claims: number } }).counted.claims)).toBe(1);
  const keys = (await orders.log()).map((request) => request.key);
  const records = await crashAndReadKeys(context, page, orders);
  expect(records.map((record) => record.key).sort()).toEqual([...keys].sort());
  expect(records.every((record) => record.state === 'pending')).toBe(true);
});
