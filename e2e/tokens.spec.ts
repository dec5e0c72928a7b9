/**
 * Token mode end to end (issue 13): real Chromium, the SDK from `src/`, the real verifier
 * with `tokens` (e2e/tokens/server.ts). Effects are counted at the handler.
 */
import { expect, test, type Page } from '@playwright/test';
import { startTokenServer, TOKEN_TTL, type TokenServer } from './tokens/server.js';
import type { PageSetup } from './tokens/page.js';

test.describe.configure({ mode: 'serial' });

let server: TokenServer;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  server = await startTokenServer();
});
test.afterAll(() => server?.close());
test.beforeEach(async () => {
  await server.verifier.reset();
  server.executions.length = 0;
  server.skew = 0;
  server.delayNext = 0;
});

async function open(page: Page, setup: PageSetup = {}): Promise<void> {
  await page.goto(server.origin);
  await page.waitForFunction(() => 'setupTokensPage' in window);
  await page.evaluate((options) => window.setupTokensPage(options), setup);
}

const orders = () => server.executions.filter((e) => e === 'POST /orders').length;
const problemType = (code: string) => `https://submit-once.dev/problems/${code}`;

test('a token runs once: the SDK sends it as the key, and a reused token replays', async ({ page }) => {
  await open(page);
  const first = await page.evaluate(() => window.tokensPage.order({ item: 'tea' }));
  expect(first).toMatchObject({ status: 201, replayed: false });
  const token = await page.evaluate(() => window.tokensPage.token());
  const used = await page.evaluate((key) => window.tokensPage.orderWithKey({ item: 'jam' }, key), token);
  const reused = await page.evaluate((key) => window.tokensPage.orderWithKey({ item: 'jam' }, key), token);
  expect(used.status).toBe(201);
  expect(reused).toMatchObject({ status: 201, replayed: true, body: used.body });
  expect(orders()).toBe(2);
});

test('forged, unknown and foreign tokens get token-invalid; nothing runs', async ({ page }) => {
  await open(page, { authorization: 'Bearer alice' });
  const token = await page.evaluate(() => window.tokensPage.token());
  const forged = `${token.slice(0, -6)}AAAAAA`;
  for (const [key, authorization] of [
    [forged, 'Bearer alice'],
    ['4f1c2a9e-3d7b-4c1a-9f2e-0a1b2c3d4e5f', 'Bearer alice'],
    [token, 'Bearer mallory'],
  ] as const) {
    const answer = await page.evaluate(([k, a]) => window.tokensPage.orderWithKey({ item: 'tea' }, k, a), [key, authorization] as const);
    expect(answer, key).toMatchObject({ status: 400, body: { type: problemType('token-invalid') } });
  }
  expect(orders()).toBe(0);
  // The token itself was never spent: its owner's first use runs.
  expect((await page.evaluate((k) => window.tokensPage.orderWithKey({ item: 'tea' }, k), token)).status).toBe(201);
  expect(orders()).toBe(1);
});

test('an expired token: its first use is refused, a token used in time still replays', async ({ page }) => {
  await open(page);
  const late = await page.evaluate(() => window.tokensPage.token());
  const inTime = await page.evaluate(() => window.tokensPage.token());
  const first = await page.evaluate((k) => window.tokensPage.orderWithKey({ item: 'tea' }, k), inTime);
  server.skew = TOKEN_TTL + 1000;
  const refused = await page.evaluate((k) => window.tokensPage.orderWithKey({ item: 'jam' }, k), late);
  expect(refused).toMatchObject({ status: 400, body: { type: problemType('token-expired') } });
  const replay = await page.evaluate((k) => window.tokensPage.orderWithKey({ item: 'tea' }, k), inTime);
  expect(replay).toMatchObject({ status: 201, replayed: true, body: first.body });
  expect(orders()).toBe(1);
});

test('the token is fetched ahead: with the token endpoint unreachable from before the click, the click still orders', async ({ page }) => {
  const tokenResponses: string[] = [];
  page.on('response', (response) => {
    if (response.url().endsWith('/__submit-once/token') && response.ok()) void response.json().then((b: { token: string }) => tokenResponses.push(b.token));
  });
  const loaded = page.waitForResponse((r) => r.url().endsWith('/__submit-once/token'));
  await open(page, { eager: true, prepare: true });
  await loaded;
  await expect.poll(() => tokenResponses.length).toBe(1);
  // From here every token request fails: a click that needed one could not send.
  await page.route('**/__submit-once/token', (route) => route.abort('connectionrefused'));
  const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/orders');
  await page.click('#order');
  const request = await sent;
  expect(request.headers()['idempotency-key']).toBe(tokenResponses[0]);
  await expect.poll(() => page.evaluate(() => window.tokensPage.clicks())).toEqual([expect.objectContaining({ status: 201 })]);
  expect(tokenResponses).toHaveLength(1);
  expect(orders()).toBe(1);
});

test('control: without a token fetched ahead, the same click waits on the endpoint and cannot send', async ({ page }) => {
  await open(page, { eager: false, prepare: false });
  await page.route('**/__submit-once/token', (route) => route.abort('connectionrefused'));
  await page.click('#order');
  await expect.poll(() => page.evaluate(() => window.tokensPage.clicks())).toEqual([
    { error: { name: 'TokenUnavailableError', code: 'token-unavailable' } },
  ]);
  expect(orders()).toBe(0);
});

test('the token is persisted like any key: a reload mid-request sends the same token again, one order', async ({ page }) => {
  await open(page);
  server.delayNext = 1500;
  const keys: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/orders') keys.push(r.headers()['idempotency-key'] ?? '');
  });
  const reached = page.waitForRequest((r) => r.method() === 'POST');
  void page.evaluate(() => window.tokensPage.order({ item: 'tea', note: 'reload' })).catch(() => undefined);
  await reached;
  // Wait until the handler holds the claim, then reload while it runs.
  await expect.poll(() => orders()).toBe(1);
  await open(page);
  const after = await page.evaluate(() => window.tokensPage.order({ item: 'tea', note: 'reload' }));
  expect(after).toMatchObject({ status: 201, replayed: true });
  expect(keys.length).toBeGreaterThanOrEqual(2);
  expect(new Set(keys).size).toBe(1);
  expect(keys[0]).toMatch(/^st2\./);
  expect(orders()).toBe(1);
});
