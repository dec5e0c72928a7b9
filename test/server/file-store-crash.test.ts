import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore, memoryStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file store, a crash while a renewed claim runs', () => {
  /** Claims at t0 with a 1 s lease and 2 s retention, then renews it for 10 s: a handler running longer than the key's retention. */
  async function longRun(store: IdempotencyStore, t0: number): Promise<void> {
    const claim = await store.claim(claimOf('k', t0, { leaseMs: 1_000, retentionMs: 2_000 }));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    for (let at = t0 + 500; at <= t0 + 10_000; at += 500) {
      expect(await store.renew({ key: 'k', token: claim.token, leaseMs: 1_000, now: at })).toBe(true);
    }
  }

  it('still answers unknown after a restart, as a store whose holder vanished does, instead of freeing the key', async () => {
    const t0 = 1_000_000;
    let clock = t0;
    const path = join(dir, 'renewed.jsonl');
    const first = fileStore(path, { sweepIntervalMs: 0, now: () => clock });
    await longRun(first, t0);
    // The process dies here (its claim line is in the file; renewals are kept in memory only).
    await first.close();

    // The memory store (same holder gone, nothing completes): the key is unknown for its retention after the lease ran out.
    const memory = memoryStore();
    await longRun(memory, t0);
    expect((await memory.claim(claimOf('k', t0 + 11_100, { leaseMs: 1_000, retentionMs: 2_000 }))).status).toBe('unknown');

    clock = t0 + 11_100;
    const restarted = fileStore(path, { sweepIntervalMs: 0, now: () => clock });
    try {
      const retry = await restarted.claim(claimOf('k', clock, { leaseMs: 1_000, retentionMs: 2_000 }));
      // 'claimed' here runs the handler a second time: its first run may well have taken effect.
      expect(retry.status).toBe('unknown');
    } finally {
      await restarted.close();
    }
  });
});

describe('file store, used after close', () => {
  it('fails closed instead of writing through its closed descriptor into the file that reused it', async () => {
    const pathA = join(dir, 'closed-a.jsonl');
    const pathB = join(dir, 'closed-b.jsonl');
    const a = fileStore(pathA, { sweepIntervalMs: 0 });
    await a.close();
    // Opened after A closed: the kernel hands out the lowest free descriptor, A's.
    const b = fileStore(pathB, { sweepIntervalMs: 0 });
    try {
      // A handler still running when A was closed, or a request that came in meanwhile.
      const late = await a.claim(claimOf('from-a', Date.now())).then(
        (result) => result.status,
        (error: unknown) => (error as Error).name,
      );
      expect(late).toBe('StoreUnavailableError');
      expect(readFileSync(pathB, 'utf8')).not.toContain('from-a');
    } finally {
      await b.close();
    }
  });
});
