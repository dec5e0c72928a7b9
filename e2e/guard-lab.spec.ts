/**
 * `submit-once/dom` in real Chromium, on markup each test builds: what jsdom does not do
 * (focus leaving a disabled button, a form's named controls shadowing its properties).
 */
import type { Page } from '@playwright/test';
import type { GuardLab } from './fixtures/guard-lab.js';
import { expect, test, type OrdersServer } from './support/test.js';

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
  // The handler runs once the form is encoded (its `body`), a turn after the button is disabled.
  await page.waitForFunction(() => 'fail' in window);
  await page.evaluate(() => {
    const w = window as unknown as { fail?: () => void; answer?: () => void };
    const fail = w.fail!;
    delete w.fail;
    delete w.answer;
    fail();
  });
  await expect(send).toBeEnabled();
  await expect(send).toBeFocused();

  // The page's onSuccess moves the focus to a message: that is where it stays. (Other
  // text: the same form again would get the refusal back from the settle window.)
  await page.evaluate(() => ((window as unknown as { moveFocus: boolean }).moveFocus = true));
  await page.getByLabel('text').fill('b');
  await send.press('Enter');
  await expect(send).toBeDisabled();
  await page.waitForFunction(() => 'answer' in window);
  await page.evaluate(() => (window as unknown as { answer: () => void }).answer());
  await expect(send).toBeEnabled();
  await expect(page.locator('#msg')).toBeFocused();
});

test('guardForm: a control named "action" does not change the intent: the form’s action URL is used', async ({ page, orders }) => {
  // `<input name="action">` is common (WordPress's admin-post.php): it shadows `form.action`.
  const form = (id: string, action: string) =>
    `<form id="${id}" method="post" action="${action}"><input type="hidden" name="action" value="save"><input name="title" value="Hello"><button>${id}</button></form>`;
  await open(page, orders.page(undefined, '/guard-lab.html'), form('draft', '/drafts') + form('publish', '/publish'));
  const result = await page.evaluate(async () => {
    const submitter = lab.engine();
    const sent: string[] = [];
    for (const el of document.querySelectorAll('form')) lab.guardForm(el, async () => sent.push(el.id), { submitter });
    document.querySelector<HTMLButtonElement>('#draft button')!.click();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Inside the settle window of the draft's answer: another URL must not be answered with it.
    document.querySelector<HTMLButtonElement>('#publish button')!.click();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const body = new FormData(document.querySelector<HTMLFormElement>('#draft')!);
    return { sent, known: (await submitter.peek({ method: 'POST', url: '/drafts', body })) !== undefined };
  });
  expect(result).toEqual({ sent: ['draft', 'publish'], known: true });
});

/**
 * Holds Enter down for `ms`: Chromium repeats the keypress (a click on a focused button, an
 * implicit submission in a field) for as long as it is held, as a keyboard's auto-repeat does.
 */
/**
 * Holds Enter down for `ms`, a repeat every 30 ms; returns how many times the repeats
 * paused for a whole debounce (1 s), as the page saw them: on a machine busy enough to stall
 * that long the key was, to the guard, let go and pressed again, and a new order is right.
 */
async function holdEnter(page: Page, ms: number): Promise<number> {
  await page.evaluate(() => {
    const w = window as unknown as { keyTimes: number[] };
    w.keyTimes = [];
    document.addEventListener('keydown', (event) => event.key === 'Enter' && w.keyTimes.push(performance.now()), { capture: true });
  });
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await page.keyboard.down('Enter');
    await page.waitForTimeout(30);
  }
  await page.keyboard.up('Enter');
  const times = await page.evaluate(() => (window as unknown as { keyTimes: number[] }).keyTimes);
  return times.slice(1).filter((time, i) => time - times[i]! >= 1_000).length;
}

/**
 * Guards with a handler that posts to the verified orders endpoint of this lane; counts the
 * handler's runs. A debounce of 1 s, the engine's settle window: a repeat slowed by a busy
 * machine (300 ms between two, at times, where a keyboard repeats every 30 ms) stays inside it.
 */
async function guardOrder(page: Page, kind: 'button' | 'form', path: string): Promise<void> {
  await page.evaluate(
    ([kind, path]) => {
      const w = window as unknown as { runs: number };
      w.runs = 0;
      const order = async (key: string) => {
        w.runs += 1;
        const response = await fetch(path!.replace('/api/orders', '/api/verified-orders'), {
          method: 'POST',
          body: '{"sku":1}',
          headers: { 'Idempotency-Key': key, 'content-type': 'application/json' },
        });
        return response.status;
      };
      if (kind === 'button') lab.guardButton(document.querySelector('button')!, ({ key }) => order(key), { submitter: lab.engine(), debounce: 1_000 });
      else lab.guardForm(document.querySelector('form')!, ({ key }) => order(key), { submitter: lab.engine(), intent: 'order', debounce: 1_000 });
    },
    [kind, path] as const,
  );
}

/** Holds Enter 3 s: one order, unless the machine stalled the repeats for a whole debounce (a new press to the guard). */
async function expectOneOrderForHeldEnter(page: Page, orders: OrdersServer): Promise<void> {
  const stalls = await holdEnter(page, 3_000);
  await page.waitForTimeout(200);
  const runs = await page.evaluate(() => (window as unknown as { runs: number }).runs);
  expect(runs).toBeGreaterThanOrEqual(1);
  expect(runs).toBeLessThanOrEqual(1 + stalls);
  expect(await orders.log()).toHaveLength(runs);
}

test('guardButton: Enter held down for 3 s (its auto-repeat clicking on) places one order', async ({ page, orders }) => {
  await open(page, orders.page(undefined, '/guard-lab.html'), '<button id="pay">Pay</button>');
  await guardOrder(page, 'button', orders.path);
  await page.getByRole('button', { name: 'Pay' }).focus();
  await expectOneOrderForHeldEnter(page, orders);
});

test('guardForm: Enter held down in a field for 3 s (implicit submission repeating) places one order', async ({ page, orders }) => {
  await open(page, orders.page(undefined, '/guard-lab.html'), '<form method="post" action="/x"><input name="t" value="a" aria-label="text"><button>Send</button></form>');
  await guardOrder(page, 'form', orders.path);
  await page.getByLabel('text').focus();
  await expectOneOrderForHeldEnter(page, orders);
});

test('a button busy for two guards at once (its own guardButton, then its form’s guardForm) is enabled again once both settle, whichever settles first', async ({ page, orders }) => {
  await open(
    page,
    orders.page(undefined, '/guard-lab.html'),
    '<form method="post" action="/x"><input name="t" value="a" aria-label="text"><button id="send">Send</button><button id="draft">Save draft</button></form>',
  );
  await page.evaluate(() => {
    const w = window as unknown as { draft: () => void; send: () => void };
    const submitter = lab.engine();
    lab.guardButton(document.querySelector<HTMLElement>('#draft')!, () => new Promise<void>((resolve) => (w.draft = resolve)), { submitter });
    lab.guardForm(document.querySelector('form')!, () => new Promise<void>((resolve) => (w.send = resolve)), { submitter });
  });
  const draft = page.getByRole('button', { name: 'Save draft' });
  const send = page.getByRole('button', { name: 'Send' });
  await draft.click();
  await expect(draft).toBeDisabled();
  // Enter in the field submits the form with its first button, Send: the form's guard marks both busy.
  await page.getByLabel('text').press('Enter');
  await expect(send).toBeDisabled();
  // Not `'send' in window`: the buttons' ids name them on window until the handlers set these.
  await page.waitForFunction(() => {
    const w = window as unknown as { draft: unknown; send: unknown };
    return typeof w.send === 'function' && typeof w.draft === 'function';
  });
  await page.evaluate(() => (window as unknown as { draft: () => void }).draft());
  await page.evaluate(() => (window as unknown as { send: () => void }).send());
  await expect(send).toBeEnabled();
  await expect(draft).toBeEnabled();
  await expect(draft).not.toHaveAttribute('aria-busy');
  await expect(page.locator('form')).not.toHaveAttribute('aria-busy');
});
