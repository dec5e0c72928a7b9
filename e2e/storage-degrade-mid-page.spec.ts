/**
 * IndexedDB failing mid-page (here every transaction refused, as when the origin's quota
 * is full or its data was cleared under the page): the page carries on in memory and an
 * order it left unfinished before is retried with its key, not sent again under a new one.
 */
import { expect, test } from './support/test.js';

const A = { sku: 'MID-A', qty: 1 };
const B = { sku: 'MID-B', qty: 1 };

test('an intent left ambiguous before IndexedDB failed is retried with its key', async ({ page, orders }) => {
  await orders.plan([], { kind: 'drop' });
  await page.goto(orders.page());
  const first = await page.evaluate(async ([path, body]) => {
    window.so.setup({ retry: { attempts: 1, baseDelay: 10, maxDelay: 20 } });
    const outcome = await window.so.submit(path, body);
    await window.so.idle();
    return outcome;
  }, [orders.path, A] as const);
  expect(first).toMatchObject({ ok: false, error: { code: 'ambiguous-outcome' } });

  await orders.plan([], { kind: 'ok' });
  const after = await page.evaluate(async ([path, a, b]) => {
    IDBDatabase.prototype.transaction = function transaction(): IDBTransaction {
      throw new DOMException('simulated: the quota is full', 'QuotaExceededError');
    };
    const placedB = await window.so.submit(path, b);
    const placedA = await window.so.submit(path, a);
    await window.so.idle();
    return { placedA, placedB, events: window.so.events().map((e) => e.type) };
  }, [orders.path, A, B] as const);
  expect(after.placedB).toMatchObject({ ok: true, status: 201 });
  expect(after.placedA).toMatchObject({ ok: true, status: 201 });
  expect(after.events.filter((type) => type === 'storage-degraded')).toHaveLength(1);

  const log = await orders.log();
  const keysOfA = log.filter((r) => r.body === JSON.stringify(A)).map((r) => r.key);
  expect(keysOfA).toHaveLength(2);
  expect(keysOfA[1]).toBe(keysOfA[0]);
});
