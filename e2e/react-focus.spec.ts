/**
 * `useIdempotentSubmit` in real Chromium: `disabled` while pending sends the focus of the
 * pressed button to `<body>` (jsdom does not), so the hook gives it back once settled.
 */
import { expect, test } from './support/test.js';

test('the hook’s button a keyboard user pressed has the focus again once the submission settles', async ({ page, orders }) => {
  await page.goto(orders.page(undefined, '/react-lab.html'));
  const pay = page.getByRole('button', { name: 'Pay' });
  await pay.focus();
  await page.keyboard.press('Enter');
  await expect(pay).toBeDisabled();
  await expect(page.locator('body')).toBeFocused();
  await page.evaluate(() => (window as unknown as { answer: () => void }).answer());
  await expect(page.locator('output')).toHaveText('success');
  await expect(pay).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByLabel('before')).toBeFocused();

  // The page's onSuccess moves the focus to a message: that is where it stays.
  await page.evaluate(() => ((window as unknown as { focusMessage: boolean }).focusMessage = true));
  await pay.press('Enter');
  await expect(pay).toBeDisabled();
  await page.evaluate(() => (window as unknown as { answer: () => void }).answer());
  await expect(pay).toBeEnabled();
  await expect(page.locator('#msg')).toBeFocused();
});
