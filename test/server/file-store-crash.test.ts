import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('file store, the log cut at every byte (a crash or power loss at any point of the last lines)', () => {
  it('opens each prefix, with or without the zeros after it, each key as its last whole line left it', async () => {
    const path = join(dir, 'prefixes.jsonl');
    const now = Date.now();
    const response = { status: 201, headers: { 'x-é': 'ü€' }, body: new Uint8Array(Buffer.from('body ✓')) };
    const store = fileStore(path, { sweepIntervalMs: 0 });
    /** Each change, and where its line ends (its newline excluded: a whole line without it still counts). */
    const changes: Array<{ key: string; state: 'claimed' | 'completed' | 'released' | 'unknown'; end: number }> = [];
    const logged = (key: string, state: (typeof changes)[number]['state']): void => {
      const bytes = readFileSync(path);
      changes.push({ key, state, end: (bytes.includes(0) ? bytes.indexOf(0) : bytes.length) - 1 });
    };
    const claim = async (key: string): Promise<string> => {
      const result = await store.claim(claimOf(key, now));
      if (result.status !== 'claimed') throw new Error(`expected a claim of ${key}`);
      logged(key, 'claimed');
      return result.token;
    };
    const keys = ['a', 'b', 'c', 'd', 'ключ-€'];
    const a = await claim('a');
    await store.complete({ key: 'a', token: a, fingerprint: 'fp', response, retentionMs: 60_000, now });
    logged('a', 'completed');
    await claim('b');
    const c = await claim('c');
    await store.release({ key: 'c', token: c, retentionMs: 60_000, now });
    logged('c', 'released');
    await claim('c');
    const d = await claim('d');
    await store.markUnknown({ key: 'd', token: d, retentionMs: 60_000, now });
    logged('d', 'unknown');
    const e = await claim('ключ-€');
    await store.complete({ key: 'ключ-€', token: e, fingerprint: 'fp', response, retentionMs: 60_000, now });
    logged('ключ-€', 'completed');
    await store.close();

    const full = readFileSync(path);
    const cutPath = join(dir, 'prefix.jsonl');
    // Every byte of the last three lines, and either side of every line's end before them.
    const end = changes.at(-1)!.end + 1;
    const cuts = new Set([0, ...changes.flatMap((change) => [change.end - 1, change.end, change.end + 1])]);
    for (let cut = changes.at(-4)!.end + 1; cut <= end; cut++) cuts.add(cut);
    const wrong: string[] = [];
    for (const zeros of [false, true]) {
      for (const cut of cuts) {
        writeFileSync(cutPath, zeros ? Buffer.concat([full.subarray(0, cut), Buffer.alloc(full.length - cut)]) : full.subarray(0, cut));
        const reopened = fileStore(cutPath, { sweepIntervalMs: 0, preallocateBytes: 0 });
        const last = new Map(changes.filter((change) => change.end <= cut).map((change) => [change.key, change.state]));
        for (const key of keys) {
          // A claim that was running is unknown after a restart, never free; a released key is free.
          const state = last.get(key);
          const expected = state === undefined || state === 'released' ? 'claimed' : state === 'completed' ? 'completed' : 'unknown';
          const got = (await reopened.claim(claimOf(key, now + 1))).status;
          if (got !== expected) wrong.push(`cut ${cut}${zeros ? ' + zeros' : ''}: ${key} ${got}, expected ${expected}`);
        }
        await reopened.close();
      }
    }
    expect(wrong).toEqual([]);
  });

  it('reads a line longer than its read chunk, a character split between two chunks', async () => {
    // 14 bytes of {"o":"r","k":" then 3-byte characters: the 1 MiB boundary falls inside one.
    const key = '€'.repeat(400_000);
    const path = join(dir, 'long-line.jsonl');
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const claim = await store.claim(claimOf(key, Date.now()));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    await store.close();
    const reopened = fileStore(path, { sweepIntervalMs: 0 });
    try {
      expect((await reopened.claim(claimOf(key, Date.now()))).status).toBe('unknown');
    } finally {
      await reopened.close();
    }
  });
});
