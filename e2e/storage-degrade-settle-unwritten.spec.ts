/**
 * IndexedDB failing between a claim and its settle write (the claim committed, the answer
 * came, then the settle transaction was refused): the settle went to memory only and the
 * engine counted it written, so a page left before the write-through took it with it. The
 * key stayed pending in IndexedDB for its TTL; the same cart ordered again after a reload
 * went out under it and the verifier replayed the first order, a silent drop at the origin.
 */
import { expect, test } from './support/test.js';

const ORDER = { sku: 'DEG-SETTLE', qty: 1 };

test('a settle that only reached memory after a degrade still retires the key across a reload', async ({ page, orders }) => {
  await orders.plan([], { kind: 'ok' });
  await page.goto(orders.page());
  const first = await page.evaluate(async ([path, body]) => {
    window.so.setup();
    const placed = await window.so.submit(path, body);
    // The claim is in IndexedDB; the settle write (~100 ms later) finds it refusing.
    IDBDatabase.prototype.transaction = function transaction(): IDBTransaction {
      throw new DOMException('simulated: the quota is full', 'QuotaExceededError');
    };
    await window.so.idle();
    return { placed, events: window.so.events().map((e) => e.type) };
  }, [orders.path, ORDER] as const);
  expect(first.placed).toMatchObject({ ok: true, status: 201 });
  expect(first.events.filter((type) => type === 'storage-degraded')).toHaveLength(1);

  // Left before the write-through (at most every 5 s); IndexedDB works on the next page.
  await page.reload();
  await page.waitForTimeout(1_200);
  const again = await page.evaluate(async ([path, body]) => {
    window.so.setup();
    return window.so.submit(path, body);
  }, [orders.path, ORDER] as const);
  expect(again).toMatchObject({ ok: true, status: 201 });
  const log = await orders.log();
  expect(log).toHaveLength(2);
  expect(log[1]?.key).not.toBe(log[0]?.key);
});
