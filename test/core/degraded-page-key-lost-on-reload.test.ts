/**
 * Found open in s39 (review-retry): once the key store had degraded to memory (a first
 * IndexedDB open slower than `storageTimeout`, as on an old phone after a browser start),
 * every later claim of the page lived in memory only, even after IndexedDB had come up. An
 * intent the page then left ambiguous (sent, no answer) was not found after a reload: its
 * next submission went out under a new key, and the origin ran it twice. The fallback now
 * goes back to the primary once it answers, writing memory's decisions through to it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { PROBE_INTERVAL } from '../../src/core/fallback-store.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';

it('an intent left ambiguous by a degraded page keeps its key across a reload once storage works', async () => {
  // The "IndexedDB" of the origin: survives the reload. Slow (300 ms) until it has warmed up.
  const disk = memoryStore();
  let slow = true;
  const delay = () => new Promise((resolve) => setTimeout(resolve, slow ? 300 : 0));
  const primary: KeyStore = {
    get: async (fp) => (await delay(), disk.get(fp)),
    upsert: async (fp, decide) => (await delay(), disk.upsert(fp, decide)),
    batch: async (decisions) => (await delay(), disk.batch(decisions)),
    list: async () => (await delay(), disk.list()),
  };
  // The origin: one effect per key it has not seen (a verifier in front of the handler).
  const effects = new Set<string>();
  const page = () => createSubmitter({ store: primary, storageTimeout: 50, locks: null, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } });
  const first = page();
  const cart = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'B' } };
  // A first submission finds the slow open: the page degrades (its claim still lands later).
  await first.submit({ intent: { ...cart, body: { sku: 'A' } }, send: async () => new Response(null, { status: 201 }) });
  slow = false;
  // Cart B: run at the origin, every answer lost.
  const lost = first.submit({
    intent: cart,
    send: async ({ key }) => {
      effects.add(key);
      throw new TypeError('Failed to fetch');
    },
  });
  await expect(lost).rejects.toMatchObject({ code: 'ambiguous-outcome' });
  await first.idle();
  // The slow open comes through (300 ms): the page goes back to it, with cart B's key.
  await vi.waitFor(async () => expect((await disk.list()).map((r) => r.state)).toContain('ambiguous'), { timeout: 2000 });
  // Reload: IndexedDB answers at once now.
  const reloaded = page();
  await reloaded.submit({
    intent: cart,
    send: async ({ key }) => {
      effects.add(key);
      return new Response(null, { status: 201 });
    },
  });
  // Seen: 2 (the reloaded page sent cart B under a new key).
  expect(effects.size).toBe(1);
});

afterEach(() => vi.useRealTimers());

describe('the write-through after a degrade', () => {
  const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'C' } };
  const lose = async (): Promise<Response> => {
    throw new TypeError('Failed to fetch');
  };

  it('leaves a live record another tab wrote meanwhile, and retires a key it settled', async () => {
    vi.useFakeTimers();
    const disk = memoryStore();
    let failing = true;
    const primary: KeyStore = {
      get: (fp) => (failing ? Promise.reject(new Error('quota')) : disk.get(fp)),
      upsert: (fp, decide) => (failing ? Promise.reject(new Error('quota')) : disk.upsert(fp, decide)),
      batch: (decisions) => (failing ? Promise.reject(new Error('quota')) : disk.batch(decisions)),
      list: () => (failing ? Promise.reject(new Error('quota')) : disk.list()),
    };
    const submitter = createSubmitter({ store: primary, locks: null, retry: false });
    const other = { ...intent, body: { sku: 'D' } };
    // Cart C ambiguous in memory; cart D claimed before the failure (its record is on disk) and settled in memory.
    failing = false;
    const prepared = await submitter.prepare(other);
    failing = true;
    await expect(submitter.submit({ intent, send: lose })).rejects.toMatchObject({ code: 'ambiguous-outcome' });
    await submitter.submit({ intent: other, send: async () => new Response(null, { status: 201 }) });
    await submitter.idle();
    // Another tab meanwhile leaves cart C ambiguous under its own key.
    const fpC = await fingerprint(intent);
    const tab = createSubmitter({ store: disk, locks: null, retry: false });
    failing = false;
    await expect(tab.submit({ intent, send: lose })).rejects.toMatchObject({ code: 'ambiguous-outcome' });
    await tab.idle();
    const theirs = (await disk.get(fpC))!.key;
    // The probe, PROBE_INTERVAL after the failure, finds the primary answering again.
    await vi.advanceTimersByTimeAsync(PROBE_INTERVAL);
    expect((await disk.get(await fingerprint(other)))?.state).toBe('settled');
    expect((await disk.get(await fingerprint(other)))?.key).toBe(prepared);
    expect((await disk.get(fpC))?.key).toBe(theirs);
    vi.useRealTimers();
  });

  it('tries a failing primary no more often than every PROBE_INTERVAL', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const fail = () => ((calls += 1), Promise.reject(new Error('quota')));
      const primary: KeyStore = { get: fail, upsert: fail, batch: fail, list: fail };
      const submitter = createSubmitter({ store: primary, locks: null, retry: false });
      const left = submitter.submit({ intent, send: lose }).catch(() => undefined);
      await vi.advanceTimersByTimeAsync(1000);
      await left;
      const before = calls;
      for (let i = 0; i < 20; i += 1) await submitter.peek(intent);
      // 20 s: about 4 probes (one each PROBE_INTERVAL), nothing in between.
      await vi.advanceTimersByTimeAsync(20_000);
      expect(calls - before).toBeLessThanOrEqual(Math.ceil(20_000 / PROBE_INTERVAL) + 1);
      expect(calls - before).toBeGreaterThanOrEqual(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
