/**
 * Two tabs of one origin submit the same intent at once. In real Chromium they share
 * IndexedDB and Web Locks: the lock serialises the two submissions, and both carry one key
 * (so a verifier would replay the first answer to the second tab instead of acting twice).
 */
import type { Page } from '@playwright/test';
import { expect, test } from './support/test.js';

async function submitInTwoTabs(first: Page, second: Page, path: string, locks: 'on' | 'off') {
  const options = locks === 'on' ? {} : { locks: null };
  for (const page of [first, second]) await page.evaluate((o) => window.so.setup(o as { locks?: null }), options);
  const body = { sku: 'TAB', qty: 2 };
  return Promise.all([first, second].map((page) => page.evaluate(([p, b]) => window.so.submit(p as string, b), [path, body] as const)));
}

for (const locks of ['on', 'off'] as const) {
  test(`two tabs, one intent, Web Lock ${locks}: one key; ${locks === 'on' ? 'never' : 'may be'} in flight together`, async ({ context, orders }) => {
    await orders.plan([], { kind: 'ok', delayMs: 700 });
    const first = await context.newPage();
    const second = await context.newPage();
    await first.goto(orders.page());
    await second.goto(orders.page());

    const outcomes = await submitInTwoTabs(first, second, orders.path, locks);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: true, status: 201 });

    const log = await orders.log();
    expect(log).toHaveLength(2);
    // The key is claimed atomically in IndexedDB: both tabs send the first tab's key.
    expect(log[1]?.key).toBe(log[0]?.key);
    if (locks === 'on') {
      expect(log.map((entry) => entry.inFlight)).toEqual([0, 0]);
    } else {
      // Without the lock both leave at once: proof that the check above can fail.
      expect(log[1]?.inFlight).toBe(1);
    }
  });
}
