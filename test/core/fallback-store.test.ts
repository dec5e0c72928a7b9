import { afterEach, describe, expect, it, vi } from 'vitest';
import { fallbackStore } from '../../src/core/fallback-store.js';
import { memoryStore, type KeyRecord, type KeyStore } from '../../src/core/store.js';

const record = (key: string): KeyRecord => ({ v: 1, key, fingerprint: 'fp', createdAt: 0, expiresAt: 1e12, attempts: 0, state: 'pending' });

afterEach(() => vi.useRealTimers());

describe('fallbackStore', () => {
  it('times out an operation that starts while the watchdog is armed for an earlier one, at its own deadline', async () => {
    vi.useFakeTimers();
    const inner = memoryStore();
    let hang = false;
    const primary: KeyStore = { ...inner, upsert: (fp, decide) => (hang ? new Promise(() => {}) : inner.upsert(fp, decide)) };
    const degraded: string[] = [];
    const store = fallbackStore(primary, { timeout: 1000, onDegrade: (_error, operation) => degraded.push(operation) });
    // Arms the watchdog at t=0 and finishes at once.
    await store.upsert('fp', () => record('k-1'));
    await vi.advanceTimersByTimeAsync(600);
    hang = true;
    let settled: KeyRecord | undefined;
    void store.upsert('fp', () => record('k-2')).then((written) => (settled = written));
    // The watchdog fires at t=1000, before this operation is overdue (t=1600): it must wait on.
    await vi.advanceTimersByTimeAsync(500);
    expect(degraded).toEqual([]);
    await vi.advanceTimersByTimeAsync(520);
    expect(degraded).toEqual(['upsert']);
    // Carried on in memory: the write is not lost.
    expect(settled?.key).toBe('k-2');
  });
});
