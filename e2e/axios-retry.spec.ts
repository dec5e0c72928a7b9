/**
 * axios-retry resends a failed POST by running the request through axios again; with
 * submit-once installed every resend must carry the first key, never a fresh one or none.
 */
import { expect, test, UUID_V4 } from './support/test.js';

test.beforeEach(async ({ page, orders }) => {
  await page.goto(orders.page(undefined, '/axios.html'));
});

test('with both installed and defaults, two network errors then success: one key throughout', async ({ page, orders }) => {
  await orders.plan([{ kind: 'drop' }, { kind: 'drop' }]);

  const outcome = await page.evaluate((path) => window.soAxios.post(path, { sku: 'F-1', qty: 1 }, { retries: 3 }), orders.path);

  const log = await orders.log();
  expect(log.map((r) => r.action)).toEqual(['drop', 'drop', 'ok']);
  const key = log[0]?.key;
  expect(key).toMatch(UUID_V4);
  expect(log.map((r) => r.key)).toEqual([key, key, key]);
  expect(outcome).toEqual({ ok: true, status: 201, body: { orderId: 3, key, lane: orders.lane } });
});

test('resends made by axios-retry itself (submit-once not retrying) carry the first key', async ({ page, orders }) => {
  await orders.plan([{ kind: 'drop' }, { kind: 'status', status: 503 }, { kind: 'drop' }]);

  const outcome = await page.evaluate(
    (path) => window.soAxios.post(path, { sku: 'F-2', qty: 1 }, { retries: 3, sdkRetry: false }),
    orders.path,
  );

  const log = await orders.log();
  expect(log.map((r) => r.action)).toEqual(['drop', 'status', 'drop', 'ok']);
  const key = log[0]?.key;
  expect(key).toMatch(UUID_V4);
  expect(log.map((r) => r.key)).toEqual([key, key, key, key]);
  expect(outcome).toEqual({ ok: true, status: 201, body: { orderId: 4, key, lane: orders.lane } });
});
