/**
 * The demo's issue-13 features in Chromium: "Edit order" open in two tabs (the second save
 * is told the order changed, and nothing is overwritten), and token mode (the key is a
 * token the server issued, fetched at page load, so the click does not wait for it).
 */
import { expect, test, type Page } from '@playwright/test';

test.describe.configure({ mode: 'default' });

test.beforeEach(async ({ request }) => {
  expect((await request.post('/__submit-once/reset')).ok()).toBe(true);
});

async function openOrder(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByRole('button', { name: 'Load order #1' }).click();
  await expect(page.getByLabel(/Delivery note for order #1/)).toBeVisible();
}

test('edit order in two tabs: the second save gets "changed by someone else"; the first save stands', async ({ context, request }) => {
  const created = await request.post('/api/orders', { data: { items: [{ sku: 'mug', qty: 1 }] } });
  expect(created.status()).toBe(201);
  const [a, b] = [await context.newPage(), await context.newPage()];
  await openOrder(a);
  await openOrder(b);

  await a.getByLabel(/Delivery note/).fill('leave at the door');
  await a.getByRole('button', { name: 'Save note' }).click();
  await expect(a.getByTestId('edit-result')).toHaveText('Saved (version 2).');

  await b.getByLabel(/Delivery note/).fill('ring twice');
  await b.getByRole('button', { name: 'Save note' }).click();
  await expect(b.getByTestId('edit-result')).toHaveText(/Changed by someone else: the note is now "leave at the door" \(version 2\)/);

  const stored = await request.get('/api/orders/1/delivery');
  expect(await stored.json()).toEqual({ orderId: 1, note: 'leave at the door', version: 2 });
});

test('token mode: the order carries a server-issued token, fetched before the click', async ({ page, request }) => {
  const tokens: string[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/api/token' && response.ok()) void response.json().then((b: { token: string }) => tokens.push(b.token));
  });
  await page.goto('/');
  await expect.poll(() => tokens.length).toBe(1);
  // From here the token endpoint is unreachable: an order that needed a token now could not send.
  await page.route('**/api/token', (route) => route.abort('connectionrefused'));
  await page.getByRole('checkbox', { name: 'Token mode' }).check();
  await page.getByRole('button', { name: 'Add Enamel mug to cart' }).click();
  const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/token/orders');
  await page.getByRole('button', { name: 'Place order', exact: true }).click();
  expect((await sent).headers()['idempotency-key']).toBe(tokens[0]);
  await expect(page.getByRole('status')).toHaveText(/Order #1 placed/);
  const orders = (await (await request.get('/api/orders')).json()) as { orders: { key: string }[] };
  expect(orders.orders).toEqual([expect.objectContaining({ key: tokens[0] })]);
});
