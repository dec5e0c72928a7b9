import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fileStore, isStoreUnavailableError } from '../../src/server/index.js';
import { claimOf } from './conformance.js';

/**
 * The file store's disk calls, held or failed on demand: `fdatasync` callbacks wait in
 * `syncs` until a test lets them go, and `failWrite` makes the next `writeSync` to the
 * log throw.
 */
const disk = vi.hoisted(() => ({
  holdSyncs: false,
  syncs: [] as Array<(error: NodeJS.ErrnoException | null) => void>,
  syncCalls: 0,
  writeCalls: 0,
  failWrite: undefined as Error | undefined,
  /** Makes the next write of zeros (the only writes of a Buffer) stop halfway and the write after it fail with ENOSPC, as on a full disk. */
  shortZeros: false,
  /** Thrown by the next write to a compacted copy (`PATH.tmp`). */
  failSnapshotWrite: undefined as Error | undefined,
  snapshotFds: new Set<number>(),
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      disk.syncCalls++;
      if (!disk.holdSyncs) return fs.fdatasync(fd, callback);
      disk.syncs.push((error) => (error === null ? fs.fdatasync(fd, callback) : callback(error)));
    },
    openSync: (...args: Parameters<typeof fs.openSync>) => {
      const fd = fs.openSync(...args);
      if (String(args[0]).endsWith('.tmp')) disk.snapshotFds.add(fd);
      else disk.snapshotFds.delete(fd);
      return fd;
    },
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      disk.writeCalls++;
      const snapshotFailure = disk.failSnapshotWrite;
      if (snapshotFailure !== undefined && disk.snapshotFds.has(args[0])) {
        disk.failSnapshotWrite = undefined;
        throw snapshotFailure;
      }
      const failure = disk.failWrite;
      disk.failWrite = undefined;
      if (failure !== undefined) throw failure;
      const [fd, data, offset, length, position] = args as unknown[];
      if (disk.shortZeros && Buffer.isBuffer(data) && typeof fd === 'number' && typeof offset === 'number' && typeof length === 'number' && typeof position === 'number') {
        disk.shortZeros = false;
        disk.failWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return fs.writeSync(fd, data, offset, Math.floor(length / 2), position);
      }
      return fs.writeSync(...args);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  disk.holdSyncs = false;
  for (const release of disk.syncs.splice(0)) release(null);
  disk.syncCalls = 0;
  disk.failWrite = undefined;
  disk.shortZeros = false;
  disk.failSnapshotWrite = undefined;
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
    disk.holdSyncs = true;
    await claimed(store, 'written', Date.now());
    expect(readFileSync(path, 'utf8')).toContain('"written"');
    expect(disk.syncCalls).toBe(0);
    disk.holdSyncs = false;
    await store.close();
  });

  it('settles a completion only after an fdatasync begun after its line was written, one sync for the lines that waited together', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c'].map((key) => claimed(store, key, now)));
    disk.holdSyncs = true;
    const a = settled(store.complete(completion('a', tokens[0]!, now)));
    await turn();
    expect(disk.syncCalls).toBe(1);
    // Written while a's sync runs: that sync may not cover them.
    const b = settled(store.complete(completion('b', tokens[1]!, now)));
    const c = settled(store.complete(completion('c', tokens[2]!, now)));
    await turn();
    expect([a(), b(), c()]).toEqual([false, false, false]);
    expect(disk.syncCalls).toBe(1);

    disk.syncs.shift()!(null);
    await vi.waitFor(() => expect(a()).toBe(true));
    expect([b(), c()]).toEqual([false, false]);
    expect(disk.syncCalls).toBe(2);

    disk.syncs.shift()!(null);
    await vi.waitFor(() => expect([b(), c()]).toEqual([true, true]));
    expect(disk.syncCalls).toBe(2);
    await store.close();
  });

  it('gives the completions written in one event-loop turn one fdatasync', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c'].map((key) => claimed(store, key, now)));
    disk.holdSyncs = true;
    const done = ['a', 'b', 'c'].map((key, i) => settled(store.complete(completion(key, tokens[i]!, now))));
    await turn();
    expect(disk.syncCalls).toBe(1);
    disk.syncs.shift()!(null);
    await vi.waitFor(() => expect(done.map((d) => d())).toEqual([true, true, true]));
    expect(disk.syncCalls).toBe(1);
    await store.close();
  });

  it('hands the completions of one sync group one shared promise, a new one for the next group, and false at once to a completion that no longer holds its key', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c'].map((key) => claimed(store, key, now)));
    disk.holdSyncs = true;
    const a = store.complete(completion('a', tokens[0]!, now));
    const b = store.complete(completion('b', tokens[1]!, now));
    expect(b).toBe(a);
    expect(await store.complete(completion('a', tokens[0]!, now))).toBe(false);
    await turn();
    // Appended while the first group's sync runs: it waits for the next sync, on a promise of its own.
    const c = store.complete(completion('c', tokens[2]!, now));
    expect(c).not.toBe(a);
    disk.syncs.shift()!(null);
    expect(await a).toBe(true);
    await vi.waitFor(() => expect(disk.syncs).toHaveLength(1));
    disk.syncs.shift()!(null);
    expect(await c).toBe(true);
    await store.close();
  });

  it('rejects a completion or mark-unknown once the file cannot be written, without throwing, and keeps the key claimed', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const now = Date.now();
    const [a, b] = await Promise.all(['a', 'b'].map((key) => claimed(store, key, now)));
    // Not ENOSPC: the next call would get past a full disk that has room again (file-store-disk-full.test.ts).
    disk.failWrite = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    expect(isStoreUnavailableError(await store.claim(claimOf('c', now)).catch((error: unknown) => error))).toBe(true);
    let completing: Promise<boolean> | undefined;
    let marking: Promise<boolean> | undefined;
    expect(() => {
      completing = store.complete(completion('a', a!, now));
      marking = store.markUnknown({ key: 'b', token: b!, retentionMs: 60_000, now });
    }).not.toThrow();
    expect(isStoreUnavailableError(await completing!.catch((error: unknown) => error))).toBe(true);
    expect(isStoreUnavailableError(await marking!.catch((error: unknown) => error))).toBe(true);
    await store.close();
    // Nothing of either reached the file: after a restart both keys are unknown, not completed.
    const restarted = fileStore(path, { sweepIntervalMs: 0 });
    expect((await restarted.claim(claimOf('a', now + 1))).status).toBe('unknown');
    await restarted.close();
  });

  it('fails a completion whose fdatasync failed, and every later call, with StoreUnavailableError', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    disk.holdSyncs = true;
    const completing = store.complete(completion('k', token, now)).catch((error: unknown) => error);
    await turn();
    disk.syncs.shift()!(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    expect(isStoreUnavailableError(await completing)).toBe(true);
    const later = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(later)).toBe(true);
    await store.close();
  });

  it('fails a claim it could not write (an I/O error) with StoreUnavailableError, and every later call', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    disk.failWrite = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    const first = await store.claim(claimOf('k', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(first)).toBe(true);
    const later = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(later)).toBe(true);
    await store.close();
  });

  it('writes the completions of one turn in one writeSync, just before their fdatasync', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c'].map((key) => claimed(store, key, now)));
    disk.holdSyncs = true;
    disk.writeCalls = 0;
    const done = ['a', 'b', 'c'].map((key, i) => settled(store.complete(completion(key, tokens[i]!, now))));
    await turn();
    expect([disk.writeCalls, disk.syncCalls]).toEqual([1, 1]);
    expect(readFileSync(path, 'utf8').match(/"s":"d"/g)).toHaveLength(3);
    disk.syncs.shift()!(null);
    await vi.waitFor(() => expect(done.map((d) => d())).toEqual([true, true, true]));
    await store.close();
  });

  it('writes the lines held for a sync before a line that must be written at once: a killed process replays them in order', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    // Completed and synced before: a claim of 'j' need not wait for a sync.
    await store.complete(completion('j', await claimed(store, 'j', now), now));
    const syncsBefore = disk.syncCalls;
    disk.holdSyncs = true;
    const completing = store.complete(completion('k', token, now));
    const clearing = store.clear();
    // Claimed again after the clear, and its handler may run: the file must say so now.
    expect((await store.claim(claimOf('j', now + 1))).status).toBe('claimed');
    // The held lines are written once their sync is due; killed then, before it returns.
    await turn();
    expect(disk.syncCalls).toBe(syncsBefore + 1);
    const crashed = join(dir, `log-${counter}-crashed.jsonl`);
    copyFileSync(path, crashed);
    const restarted = fileStore(crashed, { sweepIntervalMs: 0 });
    expect((await restarted.claim(claimOf('j', now + 2))).status).toBe('unknown');
    disk.holdSyncs = false;
    for (const release of disk.syncs.splice(0)) release(null);
    await Promise.all([completing, clearing]);
    await Promise.all([store.close(), restarted.close()]);
  });

  it('fails the completions held for a sync whose lines cannot be written (an I/O error), and every later call, with StoreUnavailableError', async () => {
    const store = fileStore(join(dir, `log-${++counter}.jsonl`), { sweepIntervalMs: 0 });
    const now = Date.now();
    const token = await claimed(store, 'k', now);
    const completing = store.complete(completion('k', token, now)).catch((error: unknown) => error);
    disk.failWrite = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
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
    const completing = store.complete(completion('k', token, now)).catch((error: unknown) => error);
    disk.failWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const claiming = await store.claim(claimOf('other', now)).catch((error: unknown) => error);
    expect(isStoreUnavailableError(claiming)).toBe(true);
    expect(isStoreUnavailableError(await completing)).toBe(true);
    expect(disk.syncCalls).toBe(0);
    await store.close();
  });

  it('goes on without the zeros after the lines when they cannot all be written (a full disk), and a restart finds every line', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 256 });
    const now = Date.now();
    await claimed(store, 'before', now);
    disk.shortZeros = true;
    // Each claim line is over 100 bytes: within three the zeros run out and are added to.
    const outcomes: unknown[] = [];
    for (const key of ['x1', 'x2', 'x3']) outcomes.push(await store.claim(claimOf(key, now)).catch((error: unknown) => error));
    expect(disk.shortZeros).toBe(false);
    // The zeros only save syncs some work: each line still fits, extending the file.
    expect(outcomes.map((outcome) => (outcome as { status?: unknown }).status)).toEqual(['claimed', 'claimed', 'claimed']);
    // What a crash then leaves: the lines written, then a part of the zeros.
    const crashed = join(dir, `log-${counter}-crashed.jsonl`);
    copyFileSync(path, crashed);
    await store.close();
    const restarted = fileStore(crashed, { sweepIntervalMs: 0 });
    expect((await restarted.claim(claimOf('before', now + 1))).status).toBe('unknown');
    for (const key of ['x1', 'x2', 'x3']) expect((await restarted.claim(claimOf(key, now + 1))).status).toBe('unknown');
    await restarted.close();
  });

  it('removes the compacted file it could not finish (a full disk), at open and at a compaction, instead of leaving it to keep the disk full', async () => {
    const path = join(dir, `log-${++counter}.jsonl`);
    // The lines' write fails: zeros that do not fit are only left out.
    disk.failSnapshotWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(() => fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 4096 })).toThrow('ENOSPC');
    // Before: PATH.tmp stayed, as large as the live records and zeros written, until the next open truncated it.
    expect(existsSync(`${path}.tmp`)).toBe(false);
    let clock = Date.now();
    const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 4096, compactAfterLines: 1, now: () => clock });
    for (const key of ['a', 'b', 'c']) await store.claim(claimOf(key, clock, { leaseMs: 10, retentionMs: 10 }));
    disk.failSnapshotWrite = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    clock += 1_000;
    expect(await store.sweep(clock)).toBe(3);
    expect(disk.failSnapshotWrite).toBeUndefined();
    expect(existsSync(`${path}.tmp`)).toBe(false);
    // The disk has room again: the next call reopens the file, and leaves no temporary file either.
    expect((await store.claim(claimOf('d', clock))).status).toBe('claimed');
    expect(existsSync(`${path}.tmp`)).toBe(false);
    await store.close();
  });
});
