/**
 * The outbox under a DOM guard (`guardButton` with `outbox`, `queue: true`, `held`), in
 * real Chromium against the real verifier: what the README promises of the hook and the
 * guards, counted at the origin behind the verifier.
 */
import type { Page } from '@playwright/test';
import { readOutbox } from './support/outbox-idb.js';
import { SECURE_ORIGIN } from './support/env.js';
import { expect, test, type OrdersServer } from './support/test.js';

interface GuardsOutboxPage {
  events(): string[];
  settled(): { key: string; orderId: number }[];
}
declare global {
  interface Window {
    guardsOutbox: GuardsOutboxPage;
  }
}

async function openPage(page: Page, orders: OrdersServer): Promise<void> {
  await page.goto(orders.page(SECURE_ORIGIN, '/guards-outbox.html'));
  await page.waitForFunction(() => 'guardsOutbox' in window);
}

test('a payment held offline and replayed by the next page on load: the next payment is a new one, not that one replayed', async ({ context, orders }) => {
  const first = await context.newPage();
  await openPage(first, orders);
  await context.setOffline(true);
  await first.getByRole('button', { name: 'Pay' }).click();
  await expect.poll(async () => (await readOutbox(first)).length).toBe(1);
  const [held] = await readOutbox(first);
  await first.close();
  await context.setOffline(false);

  const second = await context.newPage();
  await openPage(second, orders);
  // The next page of the site sends it on load, once, with its key.
  await expect.poll(() => second.evaluate(() => window.guardsOutbox.events())).toEqual(['replayed']);
  expect((await orders.log()).map((r) => r.key)).toEqual([held!.key]);

  // Later, the user pays again: a second payment, under a key of its own.
  await second.getByRole('button', { name: 'Pay' }).click();
  await expect.poll(() => second.evaluate(() => window.guardsOutbox.settled().length)).toBe(1);
  const log = await orders.log();
  expect(log).toHaveLength(2);
  expect(log[1]?.key).not.toBe(held!.key);
  expect(await second.evaluate(() => window.guardsOutbox.settled()[0]?.key)).toBe(log[1]?.key);
});
