/**
 * The client against two idempotency servers nobody here wrote (issue 9), in real
 * Chromium: express-idempotency 1.0.6 and @node-idempotency/core 1.0.11 as its Express
 * plugin wires it (e2e/dialects/servers.ts), each in front of a counting handler.
 */
import { expect, test, type Page } from '@playwright/test';
import { bundleDialectsPage } from './dialects/bundle-page.js';
import { startDialectServers, type DialectServers } from './dialects/servers.js';
import type { DialectOutcome, DialectSetup } from './dialects/page.js';

// One server and one bundle for the file: its tests run in one worker.
test.describe.configure({ mode: 'serial' });

let servers: DialectServers;
let script = '';

test.beforeAll(async () => {
  test.setTimeout(120_000);
  script = await bundleDialectsPage();
  servers = await startDialectServers({
    html: '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="/page.js"></script></body></html>',
    script: () => script,
  });
});

test.afterAll(async () => {
  await servers?.close();
});

async function open(page: Page, setup: DialectSetup = {}): Promise<void> {
  await page.goto(servers.origin);
  await page.waitForFunction(() => 'dialects' in window);
  await page.evaluate((options) => window.dialects.setup(options), setup);
}

function lane(): string {
  return test.info().testId;
}

function post(page: Page, via: 'fetch' | 'axios', path: string, body: unknown, key?: string): Promise<DialectOutcome> {
  return page.evaluate(([v, p, b, k]) => window.dialects[v](p, b, k), [via, path, body, key] as const);
}

for (const via of ['fetch', 'axios'] as const) {
  test.describe(via, () => {
    // The first attempt is given up (per-attempt timeout, as a dropped connection would)
    // while the handler runs on: the retries meet the server's "in progress".
    test('express-idempotency: a 409 without Retry-After is waited out; a 1.5 s handler gives the created order, run once', async ({ page }) => {
      await open(page, { timeout: 400 });
      const outcome = await post(page, via, `/express-idempotency/orders?lane=${lane()}&delayMs=1500`, { sku: 'A', qty: 1 });
      expect(outcome).toMatchObject({ ok: true, status: 201, body: { orderId: `${lane()}-1` } });
      expect(servers.executions(lane())).toBe(1);
    });

    test('@node-idempotency: 409 + Retry-After 1 is waited out past the three attempts (2.5 s handler)', async ({ page }) => {
      await open(page, { timeout: 400 });
      const outcome = await post(page, via, `/node-idempotency/orders?lane=${lane()}&delayMs=2500`, { sku: 'A', qty: 1 });
      expect(outcome).toMatchObject({ ok: true, status: 201, body: { orderId: `${lane()}-1` } });
      expect(servers.executions(lane())).toBe(1);
    });

    test('@node-idempotency: its stored 503 comes back as ReplayedFailureError; sending again is a new intent', async ({ page }) => {
      await open(page, { settleWindow: 0 });
      const path = `/node-idempotency/orders?lane=${lane()}&fail=1&status=503`;
      const first = await post(page, via, path, { sku: 'A', qty: 1 });
      expect(first).toEqual({ ok: false, name: 'ReplayedFailureError', code: 'replayed-failure', status: 503 });
      // The retry got the stored 503: the handler ran once.
      expect(servers.executions(lane())).toBe(1);

      const again = await post(page, via, path, { sku: 'A', qty: 1 });
      expect(again).toMatchObject({ ok: true, status: 201, body: { orderId: `${lane()}-2` } });
      expect(servers.executions(lane())).toBe(2);
    });

    for (const [server, status] of [['express-idempotency', 417], ['node-idempotency', 422]] as const) {
      test(`${server}: its key-reused answer (${status}, HTML) with keyReused: [${status}] is a KeyReusedError`, async ({ page }) => {
        await open(page, { keyReused: [status] });
        const path = `/${server}/orders?lane=${lane()}`;
        const key = `dialects-${via}-${server}-${Date.now()}`;
        expect(await post(page, via, path, { sku: 'A', qty: 1 }, key)).toMatchObject({ ok: true, status: 201 });
        const reused = await post(page, via, path, { sku: 'A', qty: 2 }, key);
        expect(reused).toEqual({ ok: false, name: 'KeyReusedError', code: 'key-reused', status });
        expect(servers.executions(lane())).toBe(1);
      });
    }
  });
}
