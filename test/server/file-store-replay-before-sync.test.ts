// A duplicate must not be answered from a completion whose fdatasync has not finished: a
// power loss then leaves only the claim line, the restarted store answers 'unknown' to the
// next retry against the 201 already replayed, and with recover: true runs the handler
// again although a caller was told it succeeded. The duplicate waits for that sync instead.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fileStore, idempotency, isStoreUnavailableError, type ClaimResult } from '../../src/server/index.js';
import { claimOf } from './conformance.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

/** Every fdatasync is held until the test lets it run (or fail). */
const disk = vi.hoisted(() => ({ held: [] as Array<(error?: NodeJS.ErrnoException) => void> }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      disk.held.push((error) => (error === undefined ? fs.fdatasync(fd, callback) : callback(error)));
    },
  };
});

const serve = serverPerTest();
const dir = mkdtempSync(join(tmpdir(), 'submit-once-replay-before-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A test that failed leaves its syncs held: they must not count in the next one.
afterEach(() => {
  for (const release of disk.held.splice(0)) release();
});

const turns = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
/** 'pending' if the promise has not settled after a few turns of the event loop. */
const stateOf = (promise: Promise<unknown>): Promise<string> => Promise.race([promise.then(() => 'settled', () => 'settled'), turns().then(() => 'pending')]);
const response = { status: 201, headers: {}, body: new Uint8Array([1]) };

describe('file store, a duplicate arriving while the completion is being synced', () => {
  it('is not told the outcome before it is durable: its claim waits for the sync, then answers completed', async () => {
    const path = join(dir, 'keys.jsonl');
    const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 0 });
    const now = Date.now();
    const claim = await store.claim(claimOf('order', now));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    const synced = readFileSync(path).length; // the claim line: what a power loss keeps at least
    const completed = store.complete({ key: 'order', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now });
    await new Promise((resolve) => setImmediate(resolve)); // the group's line is written, its fdatasync started (held)
    expect(disk.held).toHaveLength(1);
    const duplicate = store.claim(claimOf('order', now + 1));
    // The answer at once defers to the promise for this key; a fresh key is still answered at once.
    expect(store.sync?.claim(claimOf('order', now + 1))).toBeUndefined();
    expect(store.sync?.claim(claimOf('fresh', now + 1))?.status).toBe('claimed');
    expect(await stateOf(duplicate)).toBe('pending');
    // The power is cut now: the completion line never reached the disk.
    const afterPowerLoss = join(dir, 'after.jsonl');
    copyFileSync(path, afterPowerLoss);
    truncateSync(afterPowerLoss, synced);
    const restarted = fileStore(afterPowerLoss, { sweepIntervalMs: 0 });
    const retry = await restarted.claim(claimOf('order', now + 2));
    await restarted.close();
    expect(retry.status).toBe('unknown');
    for (const release of disk.held.splice(0)) release();
    expect(await completed).toBe(true);
    const answered: ClaimResult = await duplicate;
    expect(answered.status).toBe('completed');
    // Once durable, answered at once again.
    expect(store.sync?.claim(claimOf('order', now + 3))?.status).toBe('completed');
    await store.close();
  });

  it('a sync that fails: the waiting duplicate is refused as the store is (unavailable), never told completed', async () => {
    const store = fileStore(join(dir, 'failing.jsonl'), { sweepIntervalMs: 0, preallocateBytes: 0 });
    const now = Date.now();
    const claim = await store.claim(claimOf('order', now));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    const completed = store.complete({ key: 'order', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now });
    await new Promise((resolve) => setImmediate(resolve));
    const duplicate = store.claim(claimOf('order', now + 1));
    expect(await stateOf(duplicate)).toBe('pending');
    for (const release of disk.held.splice(0)) release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(completed).rejects.toSatisfy(isStoreUnavailableError);
    await expect(duplicate).rejects.toSatisfy(isStoreUnavailableError);
    await store.close();
  });

  it("durability 'strict': a claim waits for its own fdatasync, and one that fails refuses it (unavailable), so its handler never runs", async () => {
    const store = fileStore(join(dir, 'strict.jsonl'), { sweepIntervalMs: 0, preallocateBytes: 0, durability: 'strict' });
    const now = Date.now();
    const claiming = store.claim(claimOf('charge', now));
    expect(await stateOf(claiming)).toBe('pending');
    expect(disk.held).toHaveLength(1);
    // Meanwhile a duplicate is told it runs, not that it may run.
    expect((await store.claim(claimOf('charge', now + 1))).status).toBe('in-progress');
    for (const release of disk.held.splice(0)) release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(claiming).rejects.toSatisfy(isStoreUnavailableError);
    await store.close();
  });

  it('behind the middleware: the duplicate request is replayed only once the completion is synced, the handler runs once', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(idempotency({ store: fileStore(join(dir, 'http.jsonl'), { sweepIntervalMs: 0 }) }));
    app.post('/orders', (_req, res) => {
      runs++;
      res.status(201).json({ id: runs });
    });
    const url = await serve(app);
    const first = post(`${url}/orders`, { key: 'k1', body: { item: 'tea' } });
    while (disk.held.length === 0) await turns();
    const again = post(`${url}/orders`, { key: 'k1', body: { item: 'tea' } });
    expect(await stateOf(again)).toBe('pending');
    expect(await stateOf(first)).toBe('pending');
    for (const release of disk.held.splice(0)) release();
    const [a, b] = await Promise.all([first, again]);
    expect([a.status, b.status, b.headers.get('idempotent-replayed'), b.text]).toEqual([201, 201, 'true', a.text]);
    expect(runs).toBe(1);
  });
});
