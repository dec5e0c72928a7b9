/**
 * `submit-once/dom` in real Chromium: real key presses and real double clicks on a plain
 * form and button send one request, the controls are disabled and aria-busy while it is
 * pending, and come back afterwards.
 */
import { expect, test, UUID_V4 } from './support/test.js';

test('a form: Enter twice and a double click on its button send one request', async ({ page, orders }) => {
  await orders.plan([], { kind: 'ok', delayMs: 1500 });
  await page.goto(orders.page(undefined, '/guards.html'));
  const buy = page.getByRole('button', { name: 'Buy' });
  const form = page.locator('#checkout');

  await page.getByLabel('Name').press('Enter');
  await expect(buy).toBeDisabled();
  await expect(form).toHaveAttribute('aria-busy', 'true');
  // While pending: Enter again, and a double click that reaches the disabled button.
  await page.getByLabel('Name').press('Enter');
  await buy.dblclick({ force: true });

  await expect.poll(() => page.evaluate(() => (window as unknown as { settled: string[] }).settled)).toEqual(['form']);
  await expect(buy).toBeEnabled();
  await expect(form).not.toHaveAttribute('aria-busy', 'true');
  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.key).toMatch(UUID_V4);
  // The clicked button's name and value travel with the form, as without the guard.
  expect(new URLSearchParams(log[0]?.body).get('name')).toBe('Ada');
});

test('a button: a burst of real clicks sends one request; it is busy, then usable again', async ({ page, orders }) => {
  await orders.plan([], { kind: 'ok', delayMs: 1500 });
  await page.goto(orders.page(undefined, '/guards.html'));
  const pay = page.getByRole('button', { name: 'Pay' });

  await pay.click({ clickCount: 3 });
  await expect(pay).toBeDisabled();
  await expect(pay).toHaveAttribute('aria-busy', 'true');
  await expect.poll(() => page.evaluate(() => (window as unknown as { settled: string[] }).settled)).toEqual(['pay']);
  await expect(pay).toBeEnabled();
  expect(await orders.log()).toHaveLength(1);
});
