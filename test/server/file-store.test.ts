import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { runConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const paths = new WeakMap<IdempotencyStore, string>();
function open(path: string): IdempotencyStore {
  const store = fileStore(path, { sweepIntervalMs: 0 });
  paths.set(store, path);
  return store;
}

runConformance({
  name: 'file',
  create: async () => open(join(dir, `store-${++counter}.jsonl`)),
  reopen: async (store) => {
    await store.close();
    const path = paths.get(store);
    if (path === undefined) throw new Error('unknown store');
    return open(path);
  },
});

const response = { status: 201, headers: { 'content-type': 'text/plain' }, body: new Uint8Array(Buffer.from('done')) };

describe('file store log', () => {
  it('skips a torn last line left by a crash and keeps what came before', async () => {
    const path = join(dir, 'torn.jsonl');
    const store = open(path);
    const claim = await store.claim({ key: 'a', fingerprint: 'fp', leaseMs: 1_000, now: Date.now() });
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    await store.complete({ key: 'a', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now: Date.now() });
    await store.close();
    appendFileSync(path, '{"o":"d","k":"b","f":"fp","e":');
    const reopened = open(path);
    const again = await reopened.claim({ key: 'a', fingerprint: 'fp', leaseMs: 1_000, now: Date.now() });
    expect(again.status).toBe('completed');
    if (again.status === 'completed') expect(Buffer.from(again.response.body).toString()).toBe('done');
    expect((await reopened.claim({ key: 'b', fingerprint: 'fp', leaseMs: 1_000, now: Date.now() })).status).toBe('claimed');
    await reopened.close();
  });

  it('compacts the file: released and expired records do not pile up', async () => {
    const path = join(dir, 'compact.jsonl');
    const store = fileStore(path, { sweepIntervalMs: 0, compactAfterLines: 50 });
    const now = Date.now();
    for (let i = 0; i < 200; i++) {
      const claim = await store.claim({ key: `k${i}`, fingerprint: 'fp', leaseMs: 1_000, now });
      if (claim.status !== 'claimed') throw new Error('expected a claim');
      if (i % 2 === 0) await store.release(`k${i}`, claim.token);
      else await store.complete({ key: `k${i}`, token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now });
    }
    await store.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    // 100 live records; without compaction there would be 400 lines.
    expect(lines.length).toBeLessThan(250);
    const reopened = open(path);
    expect((await reopened.claim({ key: 'k1', fingerprint: 'fp', leaseMs: 1_000, now })).status).toBe('completed');
    expect((await reopened.claim({ key: 'k0', fingerprint: 'fp', leaseMs: 1_000, now })).status).toBe('claimed');
    await reopened.close();
  });

  it('drops expired records when loading', async () => {
    const path = join(dir, 'expired.jsonl');
    const past = Date.now() - 10_000;
    writeFileSync(path, `${JSON.stringify({ o: 'd', k: 'old', f: 'fp', e: past, r: { s: 200, h: {}, b: '' } })}\n`);
    const store = open(path);
    expect((await store.claim({ key: 'old', fingerprint: 'fp', leaseMs: 1_000, now: Date.now() })).status).toBe('claimed');
    await store.close();
    expect(readFileSync(path, 'utf8')).not.toContain('"o":"d"');
  });
});
