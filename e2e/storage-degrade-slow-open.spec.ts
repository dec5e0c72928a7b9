/**
 * A first IndexedDB open slower than `storageTimeout` (an old phone after a browser start)
 * degrades the page to memory. Once the open comes through, the page goes back to
 * IndexedDB with the keys it decided meanwhile: an order it left ambiguous after the
 * degrade keeps its key across a reload, one key at the origin.
 */
import { readKeyRecords } from './support/idb.js';
import { expect, test } from './support/test.js';

const A = { sku: 'SLOW-A', qty: 1 };
const B = { sku: 'SLOW-B', qty: 1 };

test('an intent left ambiguous on a page degraded by a slow open keeps its key across a reload', async ({ page, orders }) => {
  // The first page's open succeeds 1.5 s late; the reloaded page's opens at once.
  await page.addInitScript(() => {
    if (sessionStorage.getItem('slow-open-done')) return;
    sessionStorage.setItem('slow-open-done', '1');
    const open = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function slowOpen(this: IDBFactory, ...args: Parameters<IDBFactory['open']>): IDBOpenDBRequest {
      const request = open.apply(this, args);
      let handler: IDBOpenDBRequest['onsuccess'] = null;
      Object.defineProperty(request, 'onsuccess', { get: () => handler, set: (h: IDBOpenDBRequest['onsuccess']) => (handler = h), configurable: true });
      request.addEventListener('success', (event) => setTimeout(() => handler?.call(request, event), 1500));
      return request;
    };
  });
  await orders.plan([{ kind: 'ok' }], { kind: 'drop' });
  await page.goto(orders.page());
  const first = await page.evaluate(async ([path, a, b]) => {
    window.so.setup({ storageTimeout: 200, retry: { attempts: 2, baseDelay: 10, maxDelay: 20 } });
    const placedA = await window.so.submit(path, a);
    const lostB = await window.so.submit(path, b);
    await window.so.idle();
    return { placedA, lostB, events: window.so.events().map((e) => e.type) };
  }, [orders.path, A, B] as const);
  expect(first.placedA).toMatchObject({ ok: true, status: 201 });
  expect(first.lostB).toMatchObject({ ok: false, error: { code: 'ambiguous-outcome' } });
  expect(first.events.filter((type) => type === 'storage-degraded')).toHaveLength(1);

  // The open comes through: cart B's key is written to IndexedDB.
  await expect.poll(async () => (await readKeyRecords(page)).map((r) => r.state), { timeout: 5000 }).toContain('ambiguous');

  await orders.plan([], { kind: 'ok' });
  await page.reload();
  const placed = await page.evaluate(async ([path, b]) => {
    window.so.setup({ storageTimeout: 200, retry: { attempts: 2, baseDelay: 10, maxDelay: 20 } });
    const outcome = await window.so.submit(path, b);
    await window.so.idle();
    return outcome;
  }, [orders.path, B] as const);
  expect(placed).toMatchObject({ ok: true, status: 201 });

  const keysOfB = (await orders.log()).filter((r) => r.body === JSON.stringify(B)).map((r) => r.key);
  expect(keysOfB).toHaveLength(3);
  expect(new Set(keysOfB).size).toBe(1);
});
