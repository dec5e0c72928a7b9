/**
 * Plain http on a host name (not localhost, not an IP literal) is not a secure context:
 * `crypto.randomUUID`, `crypto.subtle` and `navigator.locks` do not exist there, and the
 * SDK must still mint UUID keys, fingerprint stably and de-duplicate.
 */
import { NON_SECURE_ORIGIN, SECURE_ORIGIN } from './support/env.js';
import { expect, test, UUID_V4 } from './support/test.js';

/** An absolute URL, so both origins fingerprint literally the same intent. */
const INTENT = {
  method: 'POST',
  url: `${SECURE_ORIGIN}/api/orders?b=2&a=1`,
  body: { sku: 'B-7', qty: 1, lines: [{ id: 2 }, { id: 1 }], meta: { z: true, a: null } },
};

test('the page on the test host name is really a non-secure context', async ({ page, orders }) => {
  await page.goto(orders.page(NON_SECURE_ORIGIN));
  expect(await page.evaluate(() => window.so.env())).toEqual({
    isSecureContext: false,
    randomUUID: 'undefined',
    subtle: 'undefined',
    locks: 'undefined',
    indexedDB: 'object',
  });
});

test('keys are UUID v4 and fingerprints match the secure origin', async ({ page, orders }) => {
  await page.goto(orders.page(SECURE_ORIGIN));
  const secure = await page.evaluate((intent) => window.so.fingerprint(intent), INTENT);

  await page.goto(orders.page(NON_SECURE_ORIGIN));
  const { keys, fingerprints } = await page.evaluate(async (intent) => {
    const reordered = { ...intent, url: intent.url.replace('b=2&a=1', 'a=1&b=2'), body: JSON.stringify({ ...intent.body }) };
    return {
      keys: Array.from({ length: 20 }, () => window.so.newKey()),
      fingerprints: [
        await window.so.fingerprint(intent),
        await window.so.fingerprint(intent),
        await window.so.fingerprint(reordered),
      ],
    };
  }, INTENT);

  for (const key of keys) expect(key).toMatch(UUID_V4);
  expect(new Set(keys).size).toBe(keys.length);
  expect(fingerprints).toEqual([secure, secure, secure]);
  expect(secure).toMatch(/\S{8,}/);
});

test('two concurrent submissions of one intent make one request with a UUID key', async ({ page, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 200 }]);
  await page.goto(orders.page(NON_SECURE_ORIGIN));

  const outcomes = await page.evaluate(async (path) => {
    window.so.setup({ retry: { attempts: 2, baseDelay: 10 } });
    const results = await window.so.submitConcurrently(2, path, { sku: 'C-3', qty: 1 }, 'setup');
    await window.so.idle();
    return results;
  }, orders.path);

  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.host).toBe(new URL(NON_SECURE_ORIGIN).host);
  expect(log[0]?.key).toMatch(UUID_V4);
  const expected = { ok: true, status: 201, body: { orderId: 1, key: log[0]?.key, lane: orders.lane } };
  expect(outcomes).toEqual([expected, expected]);
});
