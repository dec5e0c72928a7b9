/**
 * The claim's transaction commits as soon as its turn ends, before its add is answered
 * (`IDBTransaction.commit()`). An add that then finds a record another page wrote (before a
 * reload) makes Chromium abort the whole transaction; every claim in it is decided again,
 * reading first. A record the page wrote itself is read first, with no add to fail.
 */
import type { Page } from '@playwright/test';
import { readKeyRecords } from './support/idb.js';
import { expect, test, UUID_V4 } from './support/test.js';

const RETRY = { attempts: 1, baseDelay: 10, maxDelay: 20 };

interface Commits {
  commits: number;
  /** The error name of each early-committed transaction that aborted. */
  aborts: string[];
}

/** Counts the page's `commit()` calls and how those transactions ended, with the platform's own method. */
async function countCommits(page: Page): Promise<() => Promise<Commits>> {
  await page.addInitScript(() => {
    const counted: Commits = { commits: 0, aborts: [] };
    (window as unknown as { counted: Commits }).counted = counted;
    const commit = IDBTransaction.prototype.commit;
    IDBTransaction.prototype.commit = function (this: IDBTransaction) {
      counted.commits += 1;
      this.addEventListener('abort', () => counted.aborts.push(this.error?.name ?? 'none'));
      commit.call(this);
    };
  });
  return () => page.evaluate(() => (window as unknown as { counted: Commits }).counted);
}

test('after a reload, a burst that meets a stored key: that key is reused, the new ones are kept, nothing is lost', async ({ page, orders }) => {
  const counted = await countCommits(page);
  await orders.plan([{ kind: 'drop' }], { kind: 'ok' });
  await page.goto(orders.page());

  // A's attempt is dropped: its key stays stored (ambiguous) for the next try.
  const first = await page.evaluate(async ([path, retry]) => {
    window.so.setup({ retry });
    const outcome = await window.so.submit(path, { sku: 'A', qty: 1 });
    await window.so.idle();
    return outcome;
  }, [orders.path, RETRY] as const);
  expect(first).toMatchObject({ ok: false, error: { code: 'ambiguous-outcome' } });
  const [stored] = await readKeyRecords(page);
  expect(stored).toMatchObject({ state: 'ambiguous' });

  // A again after a reload, with B and C, in one task: one transaction, committed early, whose add of A fails.
  await page.reload();
  const outcomes = await page.evaluate(
    ([path, retry]) => {
      window.so.setup({ retry });
      return Promise.all(['A', 'B', 'C'].map((sku) => window.so.submit(path, { sku, qty: 1 })));
    },
    [orders.path, RETRY] as const,
  );
  expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true]);
  // The claims' transaction was committed early and aborted (Chromium; the spec would complete it
  // without A's add, which the store handles too, test/core/indexeddb-store.test.ts); the claims
  // were decided again, reading first, in a transaction not committed early.
  expect(await counted()).toEqual({ commits: 1, aborts: ['UnknownError'] });

  const log = await orders.log();
  const keyOf = (sku: string) => log.filter((request) => request.body === JSON.stringify({ sku, qty: 1 })).map((request) => request.key);
  expect(keyOf('A')).toEqual([stored!.key, stored!.key]);
  const [b, c] = [keyOf('B'), keyOf('C')];
  expect(b).toEqual([expect.stringMatching(UUID_V4)]);
  expect(c).toEqual([expect.stringMatching(UUID_V4)]);
  expect(new Set([stored!.key, b[0], c[0]]).size).toBe(3);

  await page.evaluate(() => window.so.idle());
  const records = await readKeyRecords(page);
  expect(records.map((record) => [record.key, record.state]).sort()).toEqual(
    [
      [stored!.key, 'settled'],
      [b[0], 'settled'],
      [c[0], 'settled'],
    ].sort(),
  );
});

test('a new intent is claimed in one transaction that commits early, and its key survives a reload', async ({ page, orders }) => {
  const counted = await countCommits(page);
  await orders.plan([], { kind: 'ok', delayMs: 15_000 });
  await page.goto(orders.page());
  await page.evaluate(() => window.so.setup());
  void page.evaluate((path) => window.so.submit(path, { sku: 'D', qty: 1 }), orders.path).catch(() => undefined);
  await expect.poll(async () => (await orders.log()).length).toBe(1);
  expect(await counted()).toEqual({ commits: 1, aborts: [] });
  const [request] = await orders.log();
  await page.reload();
  expect(await readKeyRecords(page)).toEqual([expect.objectContaining({ key: request!.key, state: 'pending' })]);
});

test('the same cart ordered again in the same page: its claim reads first, nothing aborts', async ({ page, orders }) => {
  const counted = await countCommits(page);
  await page.goto(orders.page());
  // No settle window: the second order of the same cart is a new intent over the first's record.
  const outcomes = await page.evaluate(async (path) => {
    window.so.setup({ settleWindow: 0 });
    const first = await window.so.submit(path, { sku: 'E', qty: 1 });
    const second = await window.so.submit(path, { sku: 'E', qty: 1 });
    await window.so.idle();
    return [first, second];
  }, orders.path);
  expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true]);
  // Only the first claim committed early; the second read the record first.
  expect(await counted()).toEqual({ commits: 1, aborts: [] });
  const keys = (await orders.log()).map((request) => request.key);
  expect(keys).toEqual([expect.stringMatching(UUID_V4), expect.stringMatching(UUID_V4)]);
  expect(keys[0]).not.toBe(keys[1]);
});
