/**
 * The demo shop in real Chromium, driven by what a person sees. Every scenario runs twice:
 * with submit-once it stores one order; with "Protection off" the same clicks store
 * duplicates, which proves these checks can fail.
 *
 * The specs share one demo server (its orders and faults), so this file runs in order.
 */
import { expect, test, type APIRequestContext, type Page, type Request } from '@playwright/test';

test.describe.configure({ mode: 'default' });

interface StoredOrder {
  id: number;
  key: string | null;
}

interface KeyAudit {
  key: string;
  executions: number;
  replays: number;
}

async function storedOrders(request: APIRequestContext): Promise<StoredOrder[]> {
  const response = await request.get('/api/orders');
  expect(response.ok()).toBe(true);
  return ((await response.json()) as { orders: StoredOrder[] }).orders;
}

async function auditOf(request: APIRequestContext, key: string): Promise<KeyAudit | undefined> {
  const response = await request.get('/__submit-once/stats');
  expect(response.ok()).toBe(true);
  return ((await response.json()) as { keys: KeyAudit[] }).keys.find((entry) => entry.key === key);
}

/** Every POST /api/orders the page sends, with the key it carried (null: none). */
function recordOrderPosts(page: Page): (string | null)[] {
  const keys: (string | null)[] = [];
  page.on('request', (request: Request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/orders') {
      keys.push(request.headers()['idempotency-key'] ?? null);
    }
  });
  return keys;
}

function orderPostSent(page: Page): Promise<Request> {
  return page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/api/orders');
}

const placeOrder = (page: Page) => page.getByRole('button', { name: 'Place order', exact: true });
const ordersList = (page: Page) => page.getByRole('list', { name: 'Orders' }).getByRole('listitem');
const message = (page: Page) => page.getByRole('status');

async function openShop(page: Page, { protectionOff }: { protectionOff: boolean }): Promise<void> {
  await page.goto('/');
  await page.getByRole('button', { name: 'Add Enamel mug to cart' }).click();
  await page.getByRole('button', { name: 'Add Baseball cap to cart' }).click();
  if (protectionOff) await page.getByRole('checkbox', { name: 'Protection off' }).check();
}

test.beforeEach(async ({ request }) => {
  // The verifier's reset path, as the README names it (issue 9: the demo answered 404 here).
  const response = await request.post('/__submit-once/reset');
  expect(response.ok()).toBe(true);
});

test.describe('20 clicks in one tick', () => {
  test('with submit-once: one request, one order; the button is busy while pending', async ({ page, request }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: false });
    // Slow enough to see the pending state.
    await page.getByRole('checkbox', { name: 'Slow server' }).check();
    const button = placeOrder(page);

    // One task, no re-render in between: only the hook's synchronous lock can stop clicks 2..20.
    await button.evaluate((element: HTMLElement) => {
      for (let i = 0; i < 20; i++) element.click();
    });

    await expect(button).toBeDisabled();
    await expect(button).toHaveAttribute('aria-busy', 'true');
    await expect(message(page)).toHaveText(/Order #1 placed/);
    await expect(button).toBeEnabled();
    await expect(button).toHaveAttribute('aria-busy', 'false');
    await expect(ordersList(page)).toHaveCount(1);
    expect(posts).toHaveLength(1);
    expect(await storedOrders(request)).toHaveLength(1);
  });

  test('with protection off: twenty orders', async ({ page, request }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: true });
    await placeOrder(page).evaluate((element: HTMLElement) => {
      for (let i = 0; i < 20; i++) element.click();
    });

    await expect(ordersList(page)).toHaveCount(20);
    expect(posts).toHaveLength(20);
    expect(posts.every((key) => key === null)).toBe(true);
    expect(await storedOrders(request)).toHaveLength(20);
  });
});

test.describe('response lost after the order is stored', () => {
  test('with submit-once: the retry carries the same key and is replayed; one order', async ({ page, request }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: false });
    await page.getByRole('checkbox', { name: 'Lose response after storing' }).check();

    await placeOrder(page).click();

    await expect(message(page)).toHaveText(/Order #1 placed.*replayed/);
    await expect(ordersList(page)).toHaveCount(1);
    expect(posts.length).toBeGreaterThanOrEqual(2);
    const key = posts[0];
    expect(key).toEqual(expect.any(String));
    expect(new Set(posts)).toEqual(new Set([key]));
    const audit = await auditOf(request, key ?? '');
    expect(audit?.executions).toBe(1);
    expect(audit?.replays).toBeGreaterThanOrEqual(1);
    expect(await storedOrders(request)).toEqual([expect.objectContaining({ id: 1, key })]);
  });

  test('with protection off: the user sees an error, tries again, and orders twice', async ({ page, request }) => {
    await openShop(page, { protectionOff: true });
    await page.getByRole('checkbox', { name: 'Lose response after storing' }).check();

    await placeOrder(page).click();
    await expect(message(page)).toHaveText(/No answer from the server/);
    // The order the user was told failed is stored.
    await expect(ordersList(page)).toHaveCount(1);
    await placeOrder(page).click();

    await expect(ordersList(page)).toHaveCount(2);
    expect(await storedOrders(request)).toHaveLength(2);
  });
});

test.describe('reload while the order is in flight, then order the same cart again', () => {
  test('with submit-once: the key survives the reload; one order', async ({ page, request }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: false });
    await page.getByRole('checkbox', { name: 'Slow server' }).check();
    const sent = orderPostSent(page);
    await placeOrder(page).click();
    await sent;

    await page.reload();
    await expect(page.getByRole('checkbox', { name: 'Slow server' })).toBeChecked();
    await expect(page.getByRole('list', { name: 'Cart' }).getByRole('listitem')).toHaveCount(2);
    await placeOrder(page).click();

    await expect(message(page)).toHaveText(/Order #1 placed/);
    await expect(ordersList(page)).toHaveCount(1);
    const key = posts[0];
    expect(posts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(posts)).toEqual(new Set([key]));
    expect((await auditOf(request, key ?? ''))?.executions).toBe(1);
    expect(await storedOrders(request)).toHaveLength(1);
  });

  test('with protection off: two orders', async ({ page, request }) => {
    await openShop(page, { protectionOff: true });
    await page.getByRole('checkbox', { name: 'Slow server' }).check();
    const sent = orderPostSent(page);
    await placeOrder(page).click();
    await sent;

    await page.reload();
    await page.getByRole('checkbox', { name: 'Protection off' }).check();
    await placeOrder(page).click();

    await expect(ordersList(page)).toHaveCount(2);
    expect(await storedOrders(request)).toHaveLength(2);
  });
});

test('a changed cart after a success is a new order, with a new key', async ({ page, request }) => {
  const posts = recordOrderPosts(page);
  await openShop(page, { protectionOff: false });
  await placeOrder(page).click();
  await expect(message(page)).toHaveText(/Order #1 placed/);

  await page.getByRole('button', { name: 'Add one Enamel mug' }).click();
  // A click inside the button's debounce after the last answer is taken for a double-click
  // and ignored, as it should be; a person's next click comes later, so click until it counts.
  await expect(async () => {
    await placeOrder(page).click();
    await expect(message(page)).toHaveText(/Order #2 placed/, { timeout: 2_000 });
  }).toPass({ intervals: [400], timeout: 20_000 });

  await expect(ordersList(page)).toHaveCount(2);
  const orders = await storedOrders(request);
  expect(orders).toHaveLength(2);
  expect(orders[0]?.key).not.toBe(orders[1]?.key);
  expect(posts).toHaveLength(2);
});

/**
 * Issue 9, first contact: the page must not contradict itself. The verifier's audit counts
 * keyed requests only, so the duplicates that "Protection off" creates are counted where
 * they happen: at the orders API.
 */
test.describe('first contact', () => {
  const originCounts = (page: Page) => page.getByRole('group', { name: 'Counted at the orders API' });
  const intentRows = (page: Page) => page.getByRole('table', { name: 'Orders per intent' }).getByRole('row');
  const log = (page: Page) => page.getByRole('list', { name: 'Event log' }).getByRole('listitem');

  test('with protection off the server panel shows the duplicates, counted at the orders API', async ({ page }) => {
    await openShop(page, { protectionOff: true });
    await placeOrder(page).evaluate((element: HTMLElement) => {
      for (let i = 0; i < 20; i++) element.click();
    });

    await expect(originCounts(page)).toContainText('orders 20');
    await expect(originCounts(page)).toContainText('duplicates 19');
    await expect(intentRows(page).filter({ hasText: '1× Enamel mug, 1× Baseball cap' })).toHaveText(
      /1× Enamel mug, 1× Baseball cap\s*none \(protection off\)\s*20/,
    );
  });

  test('with submit-once the same panel shows one order per intent and no duplicates', async ({ page }) => {
    await openShop(page, { protectionOff: false });
    await placeOrder(page).evaluate((element: HTMLElement) => {
      for (let i = 0; i < 20; i++) element.click();
    });

    await expect(message(page)).toHaveText(/Order #1 placed/);
    await expect(originCounts(page)).toContainText('orders 1');
    await expect(originCounts(page)).toContainText('duplicates 0');
    await expect(intentRows(page).filter({ hasText: '1× Enamel mug, 1× Baseball cap' })).toHaveText(/[0-9a-f]{8}…\s*1$/);
  });

  test('a swallowed click leaves a trace in the event log', async ({ page }) => {
    await openShop(page, { protectionOff: false });
    await page.getByRole('checkbox', { name: 'Slow server' }).check();
    await placeOrder(page).evaluate((element: HTMLElement) => {
      for (let i = 0; i < 20; i++) element.click();
    });

    // Clicks 2..20 reached the button before it re-rendered as disabled: 19 ignored clicks.
    await expect(log(page).filter({ hasText: 'click ignored' })).toHaveText([/click ignored: this order is already in flight, nothing sent\s*×19/]);
    await expect(message(page)).toHaveText(/Order #1 placed/);
  });

  test('a click inside the debounce after the answer is logged as ignored, and sends nothing', async ({ page }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: false });
    // Clicks again the moment the success shows: well inside the 300 ms a double-click lasts.
    const clickedAgain = placeOrder(page).evaluate(
      (button: HTMLElement) =>
        new Promise<void>((resolve) => {
          const status = document.querySelector('[role="status"]');
          if (status === null) throw new Error('no status');
          const watch = new MutationObserver(() => {
            if (!/Order #1 placed/.test(status.textContent ?? '')) return;
            watch.disconnect();
            button.click();
            resolve();
          });
          watch.observe(status, { childList: true, characterData: true, subtree: true });
        }),
    );
    await placeOrder(page).click();
    await clickedAgain;

    await expect(log(page).filter({ hasText: 'click ignored' })).toHaveText([/click ignored: within 300 ms of the last one \(a double-click\), nothing sent/]);
    await expect(message(page)).toHaveText(/Order #1 placed/);
    expect(posts).toHaveLength(1);
  });

  test('the log names a fault by the label the user ticked', async ({ page }) => {
    await openShop(page, { protectionOff: false });
    await page.getByRole('checkbox', { name: 'Lose response after storing' }).check();
    await page.getByRole('checkbox', { name: 'Slow server' }).check();
    await page.getByRole('checkbox', { name: 'Slow server' }).uncheck();

    await expect(log(page).filter({ hasText: 'fault' })).toHaveText([
      /fault “Slow server” off/,
      /fault “Slow server” on/,
      /fault “Lose response after storing” on/,
    ]);
    await expect(page.getByRole('list', { name: 'Event log' })).not.toContainText('loseResponse');
  });

  test('a checkbox hint is its description, not part of its name', async ({ page }) => {
    await page.goto('/');
    const switches: Array<[string, string]> = [
      ['Lose response after storing', 'the order is saved, then the connection drops'],
      ['Slow server', 'orders take 1.5 s: double-click, or reload meanwhile'],
      ['Fail first attempt with 503', 'nothing is saved; the retry succeeds'],
      ['Offline', 'orders wait in the outbox and are sent, with their key, when it goes off'],
      ['Protection off', 'submit-once is on: one intent, one order'],
    ];
    for (const [name, hint] of switches) {
      const checkbox = page.getByRole('checkbox', { name, exact: true });
      await expect(checkbox).toHaveAccessibleName(name);
      await expect(checkbox).toHaveAccessibleDescription(hint);
    }
    await page.getByRole('checkbox', { name: 'Protection off', exact: true }).check();
    await expect(page.getByRole('checkbox', { name: 'Protection off', exact: true })).toHaveAccessibleDescription(
      'plain axios: every click posts, no key',
    );
  });

  test('POST /__submit-once/reset, as in the README, forgets orders, counts and keys', async ({ page, request }) => {
    await openShop(page, { protectionOff: false });
    await placeOrder(page).click();
    await expect(message(page)).toHaveText(/Order #1 placed/);
    expect(await storedOrders(request)).toHaveLength(1);

    const response = await request.post('/__submit-once/reset');
    expect(response.status()).toBe(200);
    expect(await storedOrders(request)).toEqual([]);
    const stats = (await (await request.get('/__submit-once/stats')).json()) as { totals: { executions: number }; keys: unknown[] };
    expect(stats.totals.executions).toBe(0);
    expect(stats.keys).toEqual([]);
  });
});

test.describe('an order placed offline', () => {
  test('with submit-once: it waits in the outbox, then goes once with the key it was given', async ({ page, request }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: false });
    await page.getByRole('checkbox', { name: 'Offline', exact: true }).check();

    await placeOrder(page).click();
    const waiting = page.getByRole('region', { name: 'Waiting to be sent' });
    await expect(waiting).toContainText('1 order waiting to be sent');
    const key = (await waiting.getByRole('listitem').locator('code').textContent()) ?? '';
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(posts).toEqual([]);
    expect(await storedOrders(request)).toEqual([]);

    await page.getByRole('checkbox', { name: 'Offline', exact: true }).uncheck();
    await expect(message(page)).toHaveText(/Order #1 placed/);
    await expect(waiting).toHaveCount(0);
    expect(posts).toEqual([key]);
    expect(await storedOrders(request)).toEqual([expect.objectContaining({ id: 1, key })]);
    await expect(page.getByRole('list', { name: 'Event log' })).toContainText('outbox: sent with the same key, the server answered 201');
  });

  test('with protection off: the order fails and is gone; going online sends nothing', async ({ page, request }) => {
    const posts = recordOrderPosts(page);
    await openShop(page, { protectionOff: true });
    await page.getByRole('checkbox', { name: 'Offline', exact: true }).check();

    await placeOrder(page).click();
    await expect(message(page)).toHaveText(/No answer from the server/);
    await page.getByRole('checkbox', { name: 'Offline', exact: true }).uncheck();
    await page.waitForTimeout(500);
    expect(posts).toEqual([]);
    expect(await storedOrders(request)).toEqual([]);
  });
});
