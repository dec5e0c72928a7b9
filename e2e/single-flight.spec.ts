/**
 * In real Chromium, with the SDK's defaults (IndexedDB, Web Locks on this secure origin):
 * concurrent sends of one intent and a double click reach the server once, and every
 * caller gets a readable response of its own.
 */
import { expect, test, UUID_V4 } from './support/test.js';

test('five concurrent POSTs of one intent make one request; all five responses are readable', async ({ page, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 300 }]);
  await page.goto(orders.page());

  const { outcomes, again } = await page.evaluate(async (path) => {
    const body = { sku: 'D-5', qty: 3 };
    const outcomes = await window.so.submitConcurrently(5, path, body, 'default');
    // Inside the settle window the same intent gets the same answer, not a second order.
    const [again] = await window.so.submitConcurrently(1, path, body, 'default');
    return { outcomes, again };
  }, orders.path);

  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.key).toMatch(UUID_V4);
  const expected = { ok: true, status: 201, body: { orderId: 1, key: log[0]?.key, lane: orders.lane } };
  expect(outcomes).toEqual(Array.from({ length: 5 }, () => expected));
  expect(again).toEqual(expected);
});

test('a double click on a plain button places one order', async ({ page, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 150 }]);
  await page.goto(orders.page());

  await page.locator('#order').dblclick();
  const clicks = await page.evaluate(() => window.so.clicks());

  expect(clicks).toHaveLength(2);
  const log = await orders.log();
  expect(log).toHaveLength(1);
  const expected = { ok: true, status: 201, body: { orderId: 1, key: log[0]?.key, lane: orders.lane } };
  expect(clicks).toEqual([expected, expected]);
});
