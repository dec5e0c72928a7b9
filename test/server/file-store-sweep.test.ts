import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const response = { status: 201, headers: {}, body: new Uint8Array(Buffer.alloc(200, 1)) };
const t0 = 1_000_000;

/** `count` completed keys, the first `shortLived` of them kept 1 s, the others an hour. */
async function completeKeys(store: IdempotencyStore, count: number, shortLived: number): Promise<void> {
  const completions: Array<Promise<boolean>> = [];
  for (let i = 0; i < count; i++) {
    const claim = await store.claim(claimOf(`k${i}`, t0));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    completions.push(store.complete({ key: `k${i}`, token: claim.token, fingerprint: 'fp', response, retentionMs: i < shortLived ? 1_000 : 3_600_000, now: t0 }));
  }
  expect(await Promise.all(completions)).not.toContain(false);
}

const lines = (path: string): number => readFileSync(path, 'utf8').split('\0')[0]!.split('\n').filter((line) => line !== '').length;

describe('file store, sweeping expired records', () => {
  it('does not rewrite the whole file when a sweep drops a few of many records', async () => {
    // A day's retention swept every minute drops about 1/1440 of the keys each time.
    const path = join(dir, 'few.jsonl');
    const first = fileStore(path, { sweepIntervalMs: 0, now: () => t0 });
    await completeKeys(first, 1_000, 10);
    await first.close();
    const store = fileStore(path, { sweepIntervalMs: 0, now: () => t0 }); // opened compacted: one line a key
    try {
      const before = statSync(path).ino;
      expect(await store.sweep(t0 + 2_000)).toBe(10);
      // Before: a new file (a full rewrite and fsync on the event loop) at every sweep that dropped anything.
      expect(statSync(path).ino).toBe(before);
      expect((await store.claim(claimOf('k999', t0 + 2_000))).status).toBe('completed');
    } finally {
      await store.close();
    }
  });

  it('still compacts an idle file once most of its records are swept', async () => {
    const path = join(dir, 'most.jsonl');
    let clock = t0;
    const store = fileStore(path, { sweepIntervalMs: 0, compactAfterLines: 100, now: () => clock });
    try {
      await completeKeys(store, 300, 250);
      clock = t0 + 2_000;
      expect(await store.sweep(clock)).toBe(250);
      expect(lines(path)).toBe(50);
      expect((await store.claim(claimOf('k299', clock))).status).toBe('completed');
    } finally {
      await store.close();
    }
  });
});
