/**
 * `submit-once/dom` in real Chromium, on markup each test builds: what jsdom does not do
 * (focus leaving a disabled button, a form's named controls shadowing its properties).
 */
import type { Page } from '@playwright/test';
import type { GuardLab } from './fixtures/guard-lab.js';
import { expect, test } from './support/test.js';

declare const lab: GuardLab;

/** The lab page with `html` as its body; `window.answer()` settles the pending handler. */
async function open(page: Page, url: string, html: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => 'lab' in window);
  await page.evaluate((body) => {
    document.body.innerHTML = body;
  }, html);
}

test('guardButton: the button a keyboard user pressed has the focus again once the submission settles', async ({ page, orders }) => {
  await open(page, orders.page(undefined, '/guard-lab.html'), '<input aria-label="before"><button id="pay">Pay</button>');
  await page.evaluate(() => {
    const w = window as unknown as { answer: () => void };
    lab.guardButton(document.querySelector('button')!, () => new Promise<void>((resolve) => (w.answer = resolve)), { submitter: lab.engine() });
  });
  const pay = page.getByRole('button', { name: 'Pay' });
  await pay.focus();
  await page.keyboard.press('Enter');
  await expect(pay).toBeDisabled();
  await page.evaluate(() => (window as unknown as { answer: () => void }).answer());
  await expect(pay).toBeEnabled();
  await expect(pay).toBeFocused();
  // Tab goes on from the button, not from the top of the page.
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByLabel('before')).toBeFocused();
});

test('guardForm: the submit button pressed has the focus again after an error, and focus the page moved is left alone', async ({ page, orders }) => {
  await open(
    page,
    orders.page(undefined, '/guard-lab.html'),
    '<form method="post" action="/x"><input name="t" value="a" aria-label="text"><button>Send</button></form><p id="msg" tabindex="-1">message</p>',
  );
  await page.evaluate(() => {
    const w = window as unknown as { fail: () => void; answer: () => void; moveFocus: boolean };
    lab.guardForm(
      document.querySelector('form')!,
      () =>
        new Promise<void>((resolve, reject) => {
          w.fail = () => reject(Object.assign(new Error('refused'), { response: { status: 400 } }));
          w.answer = resolve;
        }),
      { submitter: lab.engine(), debounce: 0, onSuccess: () => w.moveFocus && document.getElementById('msg')!.focus() },
    );
  });
  const send = page.getByRole('button', { name: 'Send' });
  await send.focus();
  await page.keyboard.press('Space');
  await expect(send).toBeDisabled();
  await page.evaluate(() => (window as unknown as { fail: () => void }).fail());
  await expect(send).toBeEnabled();
  await expect(send).toBeFocused();

  // The page's onSuccess moves the focus to a message: that is where it stays. (Other
  // text: the same form again would get the refusal back from the settle window.)
  await page.evaluate(() => ((window as unknown as { moveFocus: boolean }).moveFocus = true));
  await page.getByLabel('text').fill('b');
  await send.press('Enter');
  await expect(send).toBeDisabled();
  await page.evaluate(() => (window as unknown as { answer: () => void }).answer());
  await expect(send).toBeEnabled();
  await expect(page.locator('#msg')).toBeFocused();
});
