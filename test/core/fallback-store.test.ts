import { afterEach, describe, expect, it, vi } from 'vitest';
import { fallbackStore } from '../../src/core/fallback-store.js';
import { memoryStore, type KeyRecord, type KeyStore } from '../../src/core/store.js';

const record = (key: string): KeyRecord => ({ v: 1, key, fingerprint: 'fp', createdAt: 0, expiresAt: 1e12, attempts: 0, state: 'pending' });

afterEach(() => vi.useRealTimers());

describe('fallbackStore', () => {
  it('times out an operation that starts after an earlier one, at its own deadline', async () => {
    vi.useFakeTimers();
    const inner = memoryStore();
    let hang = false;
    const primary: KeyStore = { ...inner, upsert: (fp, decide) => (hang ? new Promise(() => {}) : inner.upsert(fp, decide)) };
    const degraded: string[] = [];
    const store = fallbackStore(primary, { timeout: 1000, onDegrade: (_error, operation) => degraded.push(operation), writeBehind: () => undefined });
    // Starts at t=0 and finishes at once.
    await store.upsert('fp', () => record('k-1'));
    await vi.advanceTimersByTimeAsync(600);
    hang = true;
    let settled: KeyRecord | undefined;
    void store.upsert('fp', () => record('k-2')).then((written) => (settled = written));
    // At t=1100, a timer kept from the first operation (due at t=1000) must not have failed this one (due at t=1600).
    await vi.advanceTimersByTimeAsync(500);
    expect(degraded).toEqual([]);
    await vi.advanceTimersByTimeAsync(520);
    expect(degraded).toEqual(['upsert']);
    // Carried on in memory: the write is not lost.
    expect(settled?.key).toBe('k-2');
  });

  it('watches every running operation with one timer, and fails each at its deadline', async () => {
    vi.useFakeTimers();
    const inner = memoryStore();
    const primary: KeyStore = { ...inner, upsert: () => new Promise(() => {}) };
    const degraded: string[] = [];
    const store = fallbackStore(primary, { timeout: 1000, onDegrade: (_error, operation) => degraded.push(operation), writeBehind: () => undefined });
    const written: Array<KeyRecord | undefined> = [];
    for (const key of ['k-1', 'k-2', 'k-3']) {
      void store.upsert(key, () => record(key)).then((r) => written.push(r));
      await vi.advanceTimersByTimeAsync(100);
    }
    // Not a timer armed (and cleared) per operation: a claim on the submit path paid for both.
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(650);
    expect(written).toEqual([]);
    // t=1050: the first is overdue and carries on in memory; the others are not yet.
    await vi.advanceTimersByTimeAsync(100);
    expect(degraded).toEqual(['upsert']);
    expect(written.map((r) => r?.key)).toEqual(['k-1']);
    await vi.advanceTimersByTimeAsync(200);
    expect(written.map((r) => r?.key)).toEqual(['k-1', 'k-2', 'k-3']);
    // The watchdog is gone; the one timer left is the degraded store's next probe.
    expect(vi.getTimerCount()).toBe(1);
  });
});

describe('fallbackStore under a wall clock that jumps', () => {
  it('still fails a hung operation after its timeout when Date.now goes back an hour meanwhile', async () => {
    const inner = memoryStore();
    const primary: KeyStore = { ...inner, upsert: () => new Promise(() => {}) };
    const degraded: string[] = [];
    const store = fallbackStore(primary, { timeout: 50, onDegrade: (_error, operation) => degraded.push(operation), writeBehind: () => undefined });
    const start = Date.now();
    const written = store.upsert('fp', () => record('k-1'));
    // The user (or NTP, or a VM resumed) sets the clock back while IndexedDB hangs.
    const now = vi.spyOn(Date, 'now').mockReturnValue(start - 60 * 60 * 1000);
    try {
      const answer = await Promise.race([written, new Promise((resolve) => setTimeout(() => resolve('hung'), 400))]);
      expect(answer).toMatchObject({ key: 'k-1' });
      expect(degraded).toEqual(['upsert']);
    } finally {
      now.mockRestore();
    }
  });

});
