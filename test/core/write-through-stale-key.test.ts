/**
 * Decided (s39): a final answer written through retires another key left unfinished. The
 * write-through exposed an unfinished key the degraded
 * page never saw. An earlier page left cart X ambiguous under K0 (sent, no answer). The
 * next page's IndexedDB is slow: it degrades, the user retries X, which goes out under a
 * new key K1 (the documented price) and is placed. The write-through then leaves K0 as it is
 * (a live record of another key) and drops K1's settle (no record of K1 there), and the
 * page goes back to IndexedDB. The same cart ordered again later on that page is a new
 * order, but it finds K0 and goes out under it: where K0 had run at the origin, the
 * verifier replays that old order and the new one is silently dropped. Before 6944cc2 the
 * page stayed in memory and sent the new order under a new key.
 * Now the settle written through retires K0, as a retry under K0 would have with storage
 * working (the same cart in two tabs is one intent: the engine shares one key between them);
 * another engine's attempt in flight and another key's settle are left as they are.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { PROBE_INTERVAL } from '../../src/core/fallback-store.js';
import { writeBehind } from '../../src/core/key-record.js';
import { createSubmitter } from '../../src/core/submitter.js';
import type { KeyRecord } from '../../src/core/store.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';

afterEach(() => vi.useRealTimers());

it('a reorder after the write-through does not go out under a key the degraded page never saw', async () => {
  vi.useFakeTimers();
  const disk = memoryStore();
  let failing = false;
  const gate = <T>(op: () => Promise<T>) => (failing ? Promise.reject(new Error('slow open')) : op());
  const primary: KeyStore = {
    get: (fp) => gate(() => disk.get(fp)),
    upsert: (fp, decide) => gate(() => disk.upsert(fp, decide)),
    batch: (decisions) => gate(() => disk.batch(decisions)),
    list: () => gate(() => disk.list()),
  };
  const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'X' } };
  // The origin, behind a verifier: a key it ran is replayed, not run again.
  const ran = new Set<string>();
  const orders: string[] = [];
  const origin = async ({ key }: { key: string }) => {
    if (!ran.has(key)) (ran.add(key), orders.push(key));
    return new Response(null, { status: 201 });
  };
  // The earlier page: X ran at the origin under K0, its answer lost.
  const earlier = createSubmitter({ store: primary, locks: null, retry: false });
  let k0 = '';
  await expect(
    earlier.submit({
      intent,
      send: async (attempt) => {
        k0 = attempt.key;
        await origin(attempt);
        throw new TypeError('Failed to fetch');
      },
    }),
  ).rejects.toMatchObject({ code: 'ambiguous-outcome' });
  await earlier.idle();
  expect((await disk.get(await fingerprint(intent)))?.key).toBe(k0);

  // This page: storage fails at first, the retry of X goes out under a new key and is placed.
  failing = true;
  const page = createSubmitter({ store: primary, locks: null, retry: false });
  await page.submit({ intent, send: origin });
  await page.idle();
  // Storage answers again; the write-through runs; the page goes back to it.
  failing = false;
  await vi.advanceTimersByTimeAsync(PROBE_INTERVAL + 100);
  await page.peek({ ...intent, body: { sku: 'other' } });
  // Later, the same cart is ordered again: a new order.
  await vi.advanceTimersByTimeAsync(60_000);
  await page.submit({ intent, send: origin });
  expect(orders).toHaveLength(3);
});

it('retires another key left unfinished, never another engine\'s attempt in flight nor another key\'s settle', () => {
  const policy = { ttl: 86_400_000, settleWindow: 5000, createKey: () => 'new' };
  const record = (key: string, state: KeyRecord['state'], owner?: string): KeyRecord => ({
    v: 1, key, fingerprint: 'fp', createdAt: 0, expiresAt: 86_400_000, attempts: 1, state, ...(state === 'settled' ? { settledAt: 1000 } : {}), ...(owner ? { owner } : {}),
  });
  const mine = record('k1', 'settled', 'page');
  expect(writeBehind(mine, 'k1', record('k0', 'ambiguous'), 2000, policy)).toBe(mine);
  expect(writeBehind(mine, 'k1', record('k0', 'pending'), 2000, policy)).toBe(mine);
  expect(writeBehind(mine, 'k1', record('k0', 'pending', 'other-tab'), 2000, policy)).toBeUndefined();
  expect(writeBehind(mine, 'k1', record('k2', 'settled', 'other-tab'), 2000, policy)).toBeUndefined();
});
