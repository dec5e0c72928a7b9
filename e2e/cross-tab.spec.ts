/**
 * Two tabs of one origin submit the same intent. In real Chromium they share IndexedDB,
 * BroadcastChannel and Web Locks: the claim names the tab whose attempt is in flight, the
 * other tab waits for that tab's answer instead of sending, and takes the claim over (same
 * key) when the owner tab goes away. No lock is requested per submission.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from './support/test.js';

const ORDER = { sku: 'TAB', qty: 2 };

async function open(context: BrowserContext, url: string, options: { locks?: null } = {}) {
  const page = await context.newPage();
  await page.goto(url);
  await page.evaluate((o) => window.so.setup(o as { locks?: null }), options);
  return page;
}

const submit = (page: Page, path: string) => page.evaluate(([p, b]) => window.so.submit(p as string, b), [path, ORDER] as const);

test('two tabs, one intent at once: one request, both tabs get the same status and body', async ({ context, orders }) => {
  await orders.plan([], { kind: 'ok', delayMs: 500 });
  const first = await open(context, orders.page());
  const second = await open(context, orders.page());

  const [a, b] = await Promise.all([submit(first, orders.path), submit(second, orders.path)]);
  expect(a).toMatchObject({ ok: true, status: 201 });
  expect(b).toEqual(a);
  expect(await orders.log()).toHaveLength(1);
});

test('control, coordination off (locks: null): the second tab sends too, with the same key', async ({ context, orders }) => {
  await orders.plan([], { kind: 'ok', delayMs: 500 });
  const first = await open(context, orders.page(), { locks: null });
  const second = await open(context, orders.page(), { locks: null });

  const outcomes = await Promise.all([submit(first, orders.path), submit(second, orders.path)]);
  for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: true, status: 201 });
  const log = await orders.log();
  expect(log).toHaveLength(2);
  expect(log[1]?.key).toBe(log[0]?.key);
});

test('the owner tab closes mid-flight: the waiting tab takes over at once, with the same key', async ({ context, orders }) => {
  // The owner's request hangs at the server; the takeover is answered at once.
  await orders.plan([{ kind: 'ok', delayMs: 15_000 }], { kind: 'ok' });
  const owner = await open(context, orders.page());
  const waiter = await open(context, orders.page());

  void submit(owner, orders.path).catch(() => undefined);
  await expect.poll(async () => (await orders.log()).length).toBe(1);
  const waiting = submit(waiter, orders.path);
  // The waiter found the owner's claim and is waiting: nothing more reaches the server, past
  // a few of the waiter's asks too (a live owner answers each: no takeover while it works).
  await waiter.waitForTimeout(2_500);
  expect(await orders.log()).toHaveLength(1);

  await owner.close();
  const outcome = await waiting;
  expect(outcome).toMatchObject({ ok: true, status: 201 });
  const log = await orders.log();
  expect(log).toHaveLength(2);
  // One key for the intent. This plain test server only counts requests per key; that the
  // real verifier then runs the handler once is e2e/cross-tab-verifier.spec.ts.
  expect(log[1]?.key).toBe(log[0]?.key);
  expect(new Set(log.map((entry) => entry.key)).size).toBe(1);
  expect((outcome as { body: { key: string } }).body.key).toBe(log[0]?.key);
});

// Guards the liveness check: the reloaded page finds a claim whose owner (its former self)
// is gone, and must take it over at once rather than wait for an answer that never comes.
// Without coordination it also passes (it just sends with the stored key).
test('a reload of the owner mid-flight: the reloaded page takes its own old claim over, same key', async ({ page, orders }) => {
  await orders.plan([{ kind: 'ok', delayMs: 15_000 }], { kind: 'ok' });
  await page.goto(orders.page());
  await page.evaluate(() => window.so.setup());
  void submit(page, orders.path).catch(() => undefined);
  await expect.poll(async () => (await orders.log()).length).toBe(1);

  await page.reload();
  await page.evaluate(() => window.so.setup());
  const outcome = await submit(page, orders.path);
  expect(outcome).toMatchObject({ ok: true, status: 201 });
  const log = await orders.log();
  expect(log).toHaveLength(2);
  expect(log[1]?.key).toBe(log[0]?.key);
});

// A frozen tab (Page Lifecycle: a background tab the browser froze to save power) keeps its
// Web Locks and runs no script until it is resumed, which may be never. Headless Chromium
// does not freeze a visible page (Page.setWebLifecycleState is a no-op here), so the owner's
// script is paused in the debugger instead: alive, its lock held, deaf to every message.
// A tab waiting on its claim must not wait for it without bound: it takes the claim over,
// with the same key (the server replays or answers "in progress"), once the owner is silent.
test('the owner tab is frozen mid-flight: the waiting tab does not hang, it takes over with the same key', async ({ context, orders }) => {
  test.setTimeout(30_000);
  await orders.plan([{ kind: 'ok', delayMs: 1_000 }], { kind: 'ok' });
  const owner = await open(context, orders.page());
  const waiter = await open(context, orders.page());

  void submit(owner, orders.path).catch(() => undefined);
  await expect.poll(async () => (await orders.log()).length).toBe(1);
  const cdp = await context.newCDPSession(owner);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  try {
    const outcome = await Promise.race([submit(waiter, orders.path), waiter.waitForTimeout(15_000).then(() => 'hung' as const)]);
    expect(outcome).toMatchObject({ ok: true, status: 201 });
    const log = await orders.log();
    expect(log).toHaveLength(2);
    expect(log[1]?.key).toBe(log[0]?.key);
  } finally {
    await cdp.send('Debugger.resume').catch(() => undefined);
  }
});
