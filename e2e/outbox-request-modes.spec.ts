/**
 * A held request keeps fetch's `redirect` mode. An API that redirects a refused POST (a
 * session gone: 303 to its login page) is seen by a `redirect: 'error'` submission as a
 * failure; its replay followed the redirect and handed the login page back as the answer
 * (200: "sent"), the order never placed. And `redirect: 'manual'`, whose answer is an
 * opaque redirect no replay can store or hand back, is refused when held, not replayed
 * another way. In Chromium, whose redirect handling is what the page sees.
 */
import type { Page } from '@playwright/test';
import { SECURE_ORIGIN } from './support/env.js';
import { startRedirectingApi, type RedirectingApi } from './support/redirecting-api.js';
import { expect, test, type OrdersServer } from './support/test.js';

let api: RedirectingApi;
test.beforeEach(async () => void (api = await startRedirectingApi()));
test.afterEach(() => api.close());

async function openOutboxPage(page: Page, orders: OrdersServer): Promise<void> {
  await page.goto(orders.page(SECURE_ORIGIN, '/outbox.html'));
  await page.waitForFunction(() => 'outboxPage' in window);
}

test("redirect: 'error': the replay meets the redirect as the attempt did (a failure, kept), not the login page as the answer", async ({ context, page, orders }) => {
  await openOutboxPage(page, orders);
  await context.setOffline(true);
  const index = await page.evaluate(([url]) => window.outboxPage.submitWith(url, { sku: 'R-1' }, { redirect: 'error' }), [api.url] as const);
  const [held] = await page.evaluate(() => window.outboxPage.held(1));
  await context.setOffline(false);
  await page.evaluate(() => window.outboxPage.flush());

  // Replayed on `online` and on flush(): POSTs only, the login page never fetched.
  expect(api.seen.length).toBeGreaterThan(0);
  expect(new Set(api.seen)).toEqual(new Set(['POST /orders']));
  const settled = await page.evaluate((i) => Promise.race([window.outboxPage.outcome(i), new Promise((resolve) => setTimeout(resolve, 300, 'still waiting'))]), index);
  expect(settled).toBe('still waiting');
  expect(new Set(await page.evaluate(() => window.outboxPage.events().map((event) => event.type)))).toEqual(new Set(['queued', 'deferred']));
  expect(await page.evaluate(() => window.outboxPage.held(1))).toMatchObject([{ id: held!.id, state: 'queued' }]);
});

test("redirect: 'manual' is refused when held (InvalidRequestError): nothing kept, nothing replayed", async ({ context, page, orders }) => {
  await openOutboxPage(page, orders);
  await context.setOffline(true);
  const outcome = await page.evaluate(([url]) => window.outboxPage.outcome(window.outboxPage.submitWith(url, { sku: 'R-2' }, { redirect: 'manual' })), [api.url] as const);
  expect(outcome).toMatchObject({ ok: false, error: { name: 'InvalidRequestError', code: 'invalid-request' } });
  await context.setOffline(false);
  await page.evaluate(() => window.outboxPage.flush());
  expect(api.seen).toEqual([]);
  expect(await page.evaluate(() => window.outboxPage.events())).toEqual([]);
});
