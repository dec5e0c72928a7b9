/**
 * A page that goes on the moment its order's answer came (`location.href = '/thanks'`, here
 * a reload) took its queued settle write with it: settle writes wait ~100 ms for a moment
 * without claims, and IndexedDB's transactions die with the page (also when started from
 * `pagehide`). The key stayed pending for its TTL; the same cart ordered again later went
 * out under the old key and the verifier replayed the old order instead of placing the new
 * one, a silent drop at the origin. The unwritten settles now go to localStorage on
 * `pagehide` (`src/core/left-behind.ts`) and the next page applies them.
 */
import { expect, test } from './support/test.js';

const ORDER = { sku: 'A-1', qty: 2, note: 'reload' };

test('a page that navigates away as soon as the answer came still retires the key', async ({ page, orders }) => {
  await orders.plan([], { kind: 'ok' });
  await page.goto(orders.page());
  const navigated = page.waitForEvent('framenavigated');
  await page.evaluate(([path, body]) => {
    window.so.setup();
    void window.so.submit(path, body).then(() => location.reload());
  }, [orders.path, ORDER] as const);
  await navigated;
  await page.waitForLoadState('load');
  expect(await orders.log()).toHaveLength(1);

  // Past the settle window: ordering the same cart again is a new intent.
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
