/**
 * After the page: the service worker (`submit-once/sw`) replays the outbox's held request,
 * with its key, on a Background Sync event: one dispatched through the DevTools protocol
 * (`ServiceWorker.dispatchSyncEvent`), and the one the outbox registered, fired by the browser.
 */
import type { BrowserContext, CDPSession, Page } from '@playwright/test';
import { readOutbox } from './support/outbox-idb.js';
import { SECURE_ORIGIN } from './support/env.js';
import { startRedirectingApi } from './support/redirecting-api.js';
import { expect, test, UUID_V4, type OrdersServer } from './support/test.js';

const ORDER = { sku: 'B-2', qty: 1, note: 'service worker' };
const TAG = 'submit-once-outbox:submit-once-outbox';

/** The outbox page with its service worker in control; `sync=off` makes its outbox register no sync. */
async function openWithServiceWorker(page: Page, orders: OrdersServer, query = ''): Promise<void> {
  await page.goto(`${orders.page(SECURE_ORIGIN, '/outbox.html')}${query}`);
  await page.waitForFunction(() => 'outboxPage' in window);
  await page.evaluate(() => window.outboxPage.registerServiceWorker());
}

/** The id of the origin's service-worker registration, as the DevTools protocol names it. */
async function registrationId(cdp: CDPSession): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const registration = registrations.find((r) => r.scopeURL === `${SECURE_ORIGIN}/` && !r.isDeleted);
      if (registration) resolve(registration.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  return found;
}

async function holdOffline(page: Page): Promise<{ index: number; key: string }> {
  const index = await page.evaluate((order) => window.outboxPage.submit(order), ORDER);
  const [held] = await page.evaluate(() => window.outboxPage.held(1));
  expect(held?.key).toMatch(UUID_V4);
  return { index, key: held!.key };
}

/**
 * A request held offline by a page with the worker in control (`sync=off`: no sync
 * registered), then every page of the site closed and the connection back; `sync()`
 * dispatches the outbox's sync event to the worker over the DevTools protocol.
 */
async function holdWithEveryPageClosed(context: BrowserContext, orders: OrdersServer, query: string): Promise<{ key: string; sync: () => Promise<void> }> {
  // A page of no origin, open only to hold the DevTools session.
  const cdp = await context.newCDPSession(await context.newPage());
  const page = await context.newPage();
  await openWithServiceWorker(page, orders, `&sync=off${query}`);
  const id = await registrationId(cdp);
  await context.setOffline(true);
  const { key } = await holdOffline(page);
  await page.close();
  await context.setOffline(false);
  const sync = async () => {
    await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: SECURE_ORIGIN, registrationId: id, tag: TAG, lastChance: false });
  };
  return { key, sync };
}

type PageEvent = ReturnType<Window['outboxPage']['events']>[number];

/** What the worker recorded waits in IndexedDB: the next page of the site reports it once and leaves nothing held. */
async function expectReportedOnNextPage(context: BrowserContext, orders: OrdersServer, event: PageEvent, arrivals: number): Promise<void> {
  const next = await context.newPage();
  await next.goto(orders.page(SECURE_ORIGIN, '/outbox.html'));
  await next.waitForFunction(() => 'outboxPage' in window);
  await expect.poll(() => next.evaluate(() => window.outboxPage.events())).toEqual([event]);
  await expect.poll(() => readOutbox(next)).toEqual([]);
  expect(await orders.arrivals()).toBe(arrivals);
}

test('every page of the site closed: the sync event (dispatched over CDP) replays it once from the service worker; the next page reports it', async ({ context, orders }) => {
  const { key, sync } = await holdWithEveryPageClosed(context, orders, '');
  expect(await orders.arrivals()).toBe(0);

  await sync();
  await expect.poll(() => orders.arrivals()).toBe(1);
  expect((await orders.log()).map((r) => [r.key, r.body])).toEqual([[key, JSON.stringify(ORDER)]]);

  // No page was open: the answer waits in IndexedDB for the next page, which reports it once.
  await expectReportedOnNextPage(context, orders, { type: 'replayed', id: key, status: 201 }, 1);
});

test('the outbox registers a Background Sync; with every page closed, the browser fires it when the connection returns and the service worker replays it once', async ({ context, orders }) => {
  const page = await context.newPage();
  await openWithServiceWorker(page, orders);
  await context.setOffline(true);
  const { key } = await holdOffline(page);
  const tags = await page.evaluate(async () => {
    const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & { sync: { getTags(): Promise<string[]> } };
    return registration.sync.getTags();
  });
  expect(tags).toEqual([TAG]);
  await page.close();
  expect(await orders.arrivals()).toBe(0);

  // Chromium's Background Sync honours the emulated offline state, and fires when it ends.
  await context.setOffline(false);
  await expect.poll(() => orders.arrivals()).toBe(1);
  expect((await orders.log()).map((r) => r.key)).toEqual([key]);

  await expectReportedOnNextPage(context, orders, { type: 'replayed', id: key, status: 201 }, 1);
});

test('every page closed and the held request past its retention: the service worker never sends it, and the next page reports the give-up once', async ({ context, orders }) => {
  const { key, sync } = await holdWithEveryPageClosed(context, orders, '&retention=500');
  await new Promise((resolve) => setTimeout(resolve, 700));

  await sync();
  // Read through a page of the origin without the outbox: the worker's record, before any page takes it.
  const probe = await context.newPage();
  await probe.goto(orders.page(SECURE_ORIGIN, '/no-outbox-here'));
  await expect.poll(() => readOutbox(probe)).toMatchObject([{ key, state: 'expired', body: null, headers: [] }]);
  await probe.close();

  await expectReportedOnNextPage(context, orders, { type: 'given-up', id: key, reason: 'expired' }, 0);
});

test("every page closed, a held request that fails by itself (redirect: 'error' meeting a redirect) first: the service worker still sends the one held after it", async ({ context, orders }) => {
  const api = await startRedirectingApi();
  try {
    const cdp = await context.newCDPSession(await context.newPage());
    const page = await context.newPage();
    await openWithServiceWorker(page, orders, '&sync=off');
    const id = await registrationId(cdp);
    await context.setOffline(true);
    await page.evaluate(([url]) => window.outboxPage.submitWith(url, { sku: 'R-1' }, { redirect: 'error' }), [api.url] as const);
    await page.evaluate((order) => window.outboxPage.submit(order), ORDER);
    const [broken, order] = await page.evaluate(() => window.outboxPage.held(2));
    await page.close();
    await context.setOffline(false);

    await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: SECURE_ORIGIN, registrationId: id, tag: TAG, lastChance: false });
    // Before, the worker's pass stopped at the redirect: the order was never sent with no page open.
    await expect.poll(() => orders.arrivals()).toBe(1);
    expect((await orders.log()).map((r) => r.key)).toEqual([order!.key]);
    expect(new Set(api.seen)).toEqual(new Set(['POST /orders']));

    const next = await context.newPage();
    await next.goto(orders.page(SECURE_ORIGIN, '/outbox.html'));
    await next.waitForFunction(() => 'outboxPage' in window);
    await expect.poll(() => next.evaluate(() => window.outboxPage.events())).toContainEqual({ type: 'replayed', id: order!.key, status: 201 });
    expect((await readOutbox(next)).map((item) => item.key)).toEqual([broken!.key]);
    expect(await orders.arrivals()).toBe(1);
  } finally {
    await api.close();
  }
});
