/**
 * README recipes that need a browser: ky 2 requires Node 22, so it runs here, in Chromium,
 * with `fetch: idempotentFetch`, against express-idempotency (e2e/dialects/servers.ts).
 */
import { expect, test } from '@playwright/test';
import { bundleDialectsPage } from './dialects/bundle-page.js';
import { startDialectServers, type DialectServers } from './dialects/servers.js';

test.describe.configure({ mode: 'serial' });

let servers: DialectServers;
let script = '';

test.beforeAll(async () => {
  test.setTimeout(120_000);
  script = await bundleDialectsPage('e2e/dialects/recipes-page.ts');
  servers = await startDialectServers({
    html: '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="/page.js"></script></body></html>',
    script: () => script,
  });
});

test.afterAll(async () => {
  await servers?.close();
});

test('ky 2 with fetch: idempotentFetch: a 503 is retried by submit-once with the same key; the order is placed', async ({ page }) => {
  const lane = test.info().testId;
  await page.goto(servers.origin);
  await page.waitForFunction(() => 'recipes' in window);
  const order = await page.evaluate((path) => window.recipes.ky2(path, { sku: 'K2', qty: 1 }), `orders?lane=${lane}&fail=1&status=503`);
  expect(order).toMatchObject({ orderId: `${lane}-2` });
  const keys = servers.keys(lane);
  expect(keys).toHaveLength(2);
  expect(keys[0]).toBeTruthy();
  expect(keys[1]).toBe(keys[0]);
});
