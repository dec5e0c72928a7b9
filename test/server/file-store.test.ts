import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore, type FileStoreOptions } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf, runConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const paths = new WeakMap<IdempotencyStore, string>();
function open(path: string, options: FileStoreOptions = {}): IdempotencyStore {
  const store = fileStore(path, { sweepIntervalMs: 0, ...options });
  paths.set(store, path);
  return store;
}

for (const [name, options] of [['file', {}], ['file (durability: strict)', { durability: 'strict' }]] as const) {
  runConformance({
    name,
    create: async () => open(join(dir, `store-${++counter}.jsonl`), options),
    reopen: async (store) => {
      await store.close();
      const path = paths.get(store);
      if (path === undefined) throw new Error('unknown store');
      return open(path, options);
    },
  });
}

const response = { status: 201, headers: { 'content-type': 'text/plain' }, body: new Uint8Array(Buffer.from('done')) };

describe('file store log', () => {
  it('skips a torn last line left by a crash and keeps what came before', async () => {
    const path = join(dir, 'torn.jsonl');
    const store = open(path);
    const claim = await store.claim(claimOf('a', Date.now(), { leaseMs: 1_000 }));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    await store.complete({ key: 'a', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now: Date.now() });
    await store.close();
    appendFileSync(path, '{"o":"d","k":"b","f":"fp","e":');
    const reopened = open(path);
    const again = await reopened.claim(claimOf('a', Date.now(), { leaseMs: 1_000 }));
    expect(again.status).toBe('completed');
    if (again.status === 'completed') expect(Buffer.from(again.response.body).toString()).toBe('done');
    expect((await reopened.claim(claimOf('b', Date.now(), { leaseMs: 1_000 }))).status).toBe('claimed');
    await reopened.close();
  });

  it('compacts the file: released and expired records do not pile up', async () => {
    const path = join(dir, 'compact.jsonl');
    const store = fileStore(path, { sweepIntervalMs: 0, compactAfterLines: 50 });
    const now = Date.now();
    for (let i = 0; i < 200; i++) {
      const claim = await store.claim(claimOf(`k${i}`, now, { leaseMs: 1_000 }));
      if (claim.status !== 'claimed') throw new Error('expected a claim');
      if (i % 2 === 0) await store.release({ key: `k${i}`, token: claim.token, retentionMs: 1, now });
      else await store.complete({ key: `k${i}`, token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now });
    }
    // Released records are kept for their retention (their execution count), then swept.
    expect(await store.sweep(now + 2)).toBe(100);
    await store.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    // 100 live records; without compaction there would be 400 lines.
    expect(lines.length).toBeLessThan(250);
    const reopened = open(path);
    expect((await reopened.claim(claimOf('k1', now, { leaseMs: 1_000 }))).status).toBe('completed');
    expect((await reopened.claim(claimOf('k0', now + 2, { leaseMs: 1_000 }))).status).toBe('claimed');
    await reopened.close();
  });

  it('turns every claim still running into unknown when it opens: its holder died with the old process', async () => {
    const path = join(dir, 'restart.jsonl');
    const store = open(path);
    const now = Date.now();
    const claim = await store.claim(claimOf('running', now, { leaseMs: 60_000 }));
    expect(claim.status).toBe('claimed');
    // What a killed process leaves behind is what it wrote before the handler ran (a copy:
    // the file itself stays locked while this store is open).
    const killed = `${path}-killed`;
    copyFileSync(path, killed);
    const reopened = open(killed);
    expect(await reopened.claim(claimOf('running', now + 1, { leaseMs: 60_000 }))).toEqual({ status: 'unknown', fingerprint: 'fp', executions: 1 });
    await reopened.close();
    await store.close();
  });

  it('drops expired records when loading', async () => {
    const path = join(dir, 'expired.jsonl');
    const past = Date.now() - 10_000;
    writeFileSync(path, `${JSON.stringify({ o: 'd', k: 'old', f: 'fp', e: past, r: { s: 200, h: {}, b: '' } })}\n`);
    const store = open(path);
    expect((await store.claim(claimOf('old', Date.now(), { leaseMs: 1_000 }))).status).toBe('claimed');
    await store.close();
    expect(readFileSync(path, 'utf8')).not.toContain('"o":"d"');
  });
});

describe('file store order', () => {
  it('keeps a claim made after a release of the same key when the process dies: the lines stay in the order of the changes', async () => {
    const path = join(dir, 'order.jsonl');
    const store = open(path);
    const now = Date.now();
    const first = await store.claim(claimOf('k', now, { leaseMs: 60_000 }));
    if (first.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.release({ key: 'k', token: first.token, retentionMs: 60_000, now })).toBe(true);
    expect((await store.claim(claimOf('k', now, { leaseMs: 60_000 }))).status).toBe('claimed');
    // A killed process, once every write under way has landed: a copy of its file, still locked.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const killed = `${path}-killed`;
    copyFileSync(path, killed);
    const reopened = open(killed);
    expect(await reopened.claim(claimOf('k', now + 1, { leaseMs: 60_000 }))).toEqual({ status: 'unknown', fingerprint: 'fp', executions: 2 });
    await reopened.close();
    await store.close();
  });
});
