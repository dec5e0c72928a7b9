/**
 * A submission made with `credentials: 'include'` to a cookie-authenticated API on another
 * origin (the same host on another port: same site, so its Lax session cookie goes with
 * `include` and not with `same-origin`), held offline, is replayed with its cookie: from the
 * page, and from the service worker with every page closed. Before, each replay went
 * `same-origin`: no cookie, a final 401, and the order was never placed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';
import { SECURE_ORIGIN } from './support/env.js';
import { expect, test, type OrdersServer } from './support/test.js';

const SESSION = 'session=alice';
const TAG = 'submit-once-outbox:submit-once-outbox';

interface CookieApi {
  url: string;
  /** Orders placed: each POST that came with the session cookie. */
  placed: { key: string | undefined; body: string }[];
  /** POSTs refused for want of it. */
  refused: number;
  close(): Promise<void>;
}

/** The API of another origin: CORS with credentials for the page's origin; an order needs the session cookie. */
async function startCookieApi(): Promise<CookieApi> {
  const api: Omit<CookieApi, 'url' | 'close'> = { placed: [], refused: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('access-control-allow-origin', SECURE_ORIGIN);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('connection', 'close');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '' });
      res.end();
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const signedIn = (req.headers.cookie ?? '').split(/;\s*/).includes(SESSION);
      if (signedIn) api.placed.push({ key: req.headers['idempotency-key'] as string | undefined, body });
      else api.refused += 1;
      res.writeHead(signedIn ? 201 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(signedIn ? { id: api.placed.length } : { error: 'sign in' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}/orders`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

let api: CookieApi;

test.beforeEach(async ({ context }) => {
  api = await startCookieApi();
  // Host-only on 127.0.0.1: sent to any of its ports, as cookies ignore the port.
  await context.addCookies([{ name: 'session', value: 'alice', domain: '127.0.0.1', path: '/', sameSite: 'Lax' }]);
});
test.afterEach(() => api.close());

const ORDER = { sku: 'C-3', qty: 1 };

async function openOutboxPage(page: Page, orders: OrdersServer, query = ''): Promise<void> {
  await page.goto(`${orders.page(SECURE_ORIGIN, '/outbox.html')}${query}`);
  await page.waitForFunction(() => 'outboxPage' in window);
}

test("the page's replay of a credentials: 'include' submission carries the API's cookie: the order is placed, once", async ({ context, page, orders }) => {
  await openOutboxPage(page, orders);
  // Online, the same request reaches the API with its cookie: the setup itself is sound.
  const direct = await page.evaluate(([url, order]) => window.outboxPage.outcome(window.outboxPage.submitTo(url, order, 'include')), [api.url, ORDER] as const);
  expect(direct).toMatchObject({ ok: true, status: 201 });

  await context.setOffline(true);
  const index = await page.evaluate(([url, order]) => window.outboxPage.submitTo(url, order, 'include'), [api.url, { ...ORDER, sku: 'C-4' }] as const);
  const [held] = await page.evaluate(() => window.outboxPage.held(1));
  await context.setOffline(false);
  await page.evaluate(() => window.outboxPage.flush());

  expect(await page.evaluate((i) => window.outboxPage.outcome(i), index)).toMatchObject({ ok: true, status: 201 });
  expect(api.refused).toBe(0);
  expect(api.placed.map((order) => order.key).slice(1)).toEqual([held!.key]);
});

test("with every page closed, the service worker's replay carries the cookie too", async ({ context, orders }) => {
  const cdp = await context.newCDPSession(await context.newPage());
  const registered = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const registration = registrations.find((r) => r.scopeURL === `${SECURE_ORIGIN}/` && !r.isDeleted);
      if (registration) resolve(registration.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const page = await context.newPage();
  // `sync=off`: only the sync event dispatched below fires.
  await openOutboxPage(page, orders, '&sync=off');
  await page.evaluate(() => window.outboxPage.registerServiceWorker());
  const registrationId = await registered;

  await context.setOffline(true);
  await page.evaluate(([url, order]) => window.outboxPage.submitTo(url, order, 'include'), [api.url, ORDER] as const);
  const [held] = await page.evaluate(() => window.outboxPage.held(1));
  await page.close();
  await context.setOffline(false);
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: SECURE_ORIGIN, registrationId, tag: TAG, lastChance: false });

  await expect.poll(() => api.placed.length + api.refused).toBe(1);
  expect(api.refused).toBe(0);
  expect(api.placed).toEqual([{ key: held!.key, body: JSON.stringify(ORDER) }]);
});
