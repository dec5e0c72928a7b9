import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fileStore, isStoreUnavailableError } from '../../src/server/index.js';
import { claimOf } from './conformance.js';

/**
 * The file store's disk calls, watched or failed on demand: `onSync` runs at each
 * `fdatasyncSync` (the test's view of the file at that moment), `failSync` makes the next
 * one throw, and `failWrite` the next `writeSync` to the log.
 */
const disk = vi.hoisted(() => ({
  syncCalls: 0,
  writeCalls: 0,
  onSync: undefined as (() => void) | undefined,
  failSync: undefined as Error | undefined,
  failWrite: undefined as Error | undefined,
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasyncSync: (fd: number) => {
      disk.syncCalls++;
      disk.onSync?.();
      const failure = disk.failSync;
      disk.failSync = undefined;
      if (failure !== undefined) throw failure;
      fs.fdatasyncSync(fd);
    },
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      disk.writeCalls++;
      const failure = disk.failWrite;
      disk.failWrite = undefined;
      if (failure !== undefined) throw failure;
      return fs.writeSync(...args);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  disk.syncCalls = 0;
  disk.writeCalls = 0;
  disk.onSync = undefined;
  disk.failSync = undefined;
  disk.failWrite = undefined;
});

let counter = 0;
const response = { status: 201, headers: { 'content-type': 'text/plain' }, body: new Uint8Array(Buffer.from('done')) };
const completion = (key: string, token: string, now: number) => ({ key, token, fingerprint: 'fp', response, retentionMs: 60_000, now });

/** Settles to true once `promise` has settled, without waiting for it. */
function settled(promise: Promise<unknown>): () => boolean {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function claimed(store: ReturnType<typeof fileStore>, key: string, now: number): Promise<string> {
  const claim = await store.claim(claimOf(key, now));
  if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
  return claim.token;
}

describe('file store writes', () => {
  it('has a claim in the file when claim() settles, without waiting for a sync', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    disk.syncCalls = 0;
    await claimed(store, 'written', Date.now());
    expect(readFileSync(path, 'utf8')).toContain('"written"');
    expect(disk.syncCalls).toBe(0);
    await store.close();
  });

  it('settles the completions of one turn after one fdatasync that found their lines written, in one writeSync', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c'].map((key) => claimed(store, key, now)));
    const atSync: string[] = [];
    disk.onSync = () => atSync.push(readFileSync(path, 'utf8'));
    disk.syncCalls = 0;
    disk.writeCalls = 0;
    const done = ['a', 'b', 'c'].map((key, i) => settled(store.complete(completion(key, tokens[i]!, now))));
    await Promise.resolve();
    expect(done.map((d) => d())).toEqual([false, false, false]);
    await vi.waitFor(() => expect(done.map((d) => d())).toEqual([true, true, true]));
    expect([disk.writeCalls, disk.syncCalls]).toEqual([1, 1]);
    expect(atSync[0]!.match(/"s":"d"/g)).toHaveLength(3);
    await store.close();
  });

  it('gives the completions of a later turn a sync of their own', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b'].map((key) => claimed(store, key, now)));
    disk.syncCalls = 0;
    await store.complete(completion('a', tokens[0]!, now));
    expect(disk.syncCalls).toBe(1);
    await store.complete(completion('b', tokens[1]!, now));
    expect(disk.syncCalls).toBe(2);
    await store.close();
  });

  it('fails a completion whose fdatasync failed, and every later call, with StoreUnavailableError', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    disk.failSync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const completing = store.complete(completion('k', token, now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(await completing)).toBe(true);
    const later = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(later)).toBe(true);
    await store.close();
  });

  it('fails a claim it could not write (disk full) with StoreUnavailableError, and every later call', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    disk.failWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const first = await store.claim(claimOf('k', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(first)).toBe(true);
    const later = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(later)).toBe(true);
    await store.close();
  });

  it('writes the lines held for a sync before a line that must be written at once: a killed process replays them in order', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    disk.syncCalls = 0;
    const completing = store.complete(completion('k', token, now));
    const clearing = store.clear();
    // Claimed again after the clear, and its handler may run: the file must say so now.
    expect((await store.claim(claimOf('k', now + 1))).status).toBe('claimed');
    // The held lines are written once their sync is due; killed then.
    await turn();
    expect(disk.syncCalls).toBe(1);
    const crashed = join(dir, `log-${counter}-crashed.jsonl`);
    copyFileSync(path, crashed);
    const restarted = fileStore(crashed, { sweepIntervalMs: 0 });
    expect((await restarted.claim(claimOf('k', now + 2))).status).toBe('unknown');
    await Promise.all([completing, clearing]);
    await Promise.all([store.close(), restarted.close()]);
  });

  it('fails the completions held for a sync whose lines cannot be written, and every later call, with StoreUnavailableError', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    disk.syncCalls = 0;
    const completing = store.complete(completion('k', token, now)).catch((error: unknown) => error);
    disk.failWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(isStoreUnavailableError(await completing)).toBe(true);
    expect(disk.syncCalls).toBe(0);
    const later = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(later)).toBe(true);
    await store.close();
  });

  it('fails the completions held when a claim written with them cannot be, and the claim, with StoreUnavailableError', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    disk.syncCalls = 0;
    const completing = store.complete(completion('k', token, now)).catch((error: unknown) => error);
    disk.failWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const claiming = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(claiming)).toBe(true);
    expect(isStoreUnavailableError(await completing)).toBe(true);
    expect(disk.syncCalls).toBe(0);
    await store.close();
  });
});
