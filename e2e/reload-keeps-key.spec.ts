/**
 * The key survives a reload: an intent whose attempts all end in network errors keeps its
 * key in real IndexedDB, and sending it again after a reload reuses that key.
 */
import { readKeyRecords } from './support/idb.js';
import { expect, test, UUID_V4 } from './support/test.js';

const ORDER = { sku: 'A-1', qty: 2, note: 'reload' };

test('a reload keeps the key of an unfinished intent, and success retires it', async ({ page, orders }) => {
  await orders.plan([], { kind: 'drop' });
  await page.goto(orders.page());

  const failed = await page.evaluate(async ([path, body]) => {
    window.so.setup({ retry: { attempts: 2, baseDelay: 10, maxDelay: 20 } });
    const outcome = await window.so.submit(path, body);
    await window.so.idle();
    return outcome;
  }, [orders.path, ORDER] as const);
  expect(failed).toMatchObject({ ok: false, error: { code: 'ambiguous-outcome' } });

  const before = await orders.log();
  expect(before.map((r) => r.action)).toEqual(['drop', 'drop']);
  const [stored, ...others] = await readKeyRecords(page);
  expect(others).toEqual([]);
  expect(stored).toMatchObject({ v: 1, state: 'ambiguous', attempts: 2 });
  expect(stored?.key).toMatch(UUID_V4);
  expect(before.map((r) => r.key)).toEqual([stored?.key, stored?.key]);

  await orders.plan([], { kind: 'ok' });
  await page.reload();
  const placed = await page.evaluate(async ([path, body]) => {
    window.so.setup({ retry: { attempts: 2, baseDelay: 10, maxDelay: 20 } });
    const outcome = await window.so.submit(path, body);
    await window.so.idle();
    return outcome;
  }, [orders.path, ORDER] as const);
  expect(placed).toMatchObject({ ok: true, status: 201, body: { key: stored?.key } });

  const after = await orders.log();
  expect(after.map((r) => r.action)).toEqual(['drop', 'drop', 'ok']);
  expect(new Set(after.map((r) => r.key))).toEqual(new Set([stored?.key]));
  expect(after.every((r) => r.body === JSON.stringify(ORDER))).toBe(true);

  const [retired, ...rest] = await readKeyRecords(page);
  expect(rest).toEqual([]);
  expect(retired).toMatchObject({ key: stored?.key, fingerprint: stored?.fingerprint, state: 'settled', attempts: 3 });
});
