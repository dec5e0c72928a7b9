// A disk full for a moment (a log rotation, another tenant's burst): the file store fails
// closed while memory may be ahead of the file, then serves again once a write succeeds,
// as a restart would, without killing the handlers in flight (session 36's open test).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fileStore, idempotency, type IdempotencyStore } from '../../src/server/index.js';
import { manualClock } from '../helpers/clock.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';
import { claimOf } from './conformance.js';

/**
 * `room`: bytes the disk still takes (a write gets what fits, then ENOSPC); `error`: every
 * write fails so; `syncError`: every fdatasync; `zerosFail`: a write of zeros only (the
 * file's preallocation) fails with ENOSPC, as on a disk with room for lines but not for them.
 */
const disk = vi.hoisted(() => ({
  room: Infinity,
  error: undefined as string | undefined,
  syncError: undefined as string | undefined,
  zerosFail: false,
  writes: 0,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const errno = (code: string, call: string): Error => Object.assign(new Error(`${code}: ${call}`), { code, syscall: call });
  return {
    ...fs,
    writeSync: (fd: number, data: string | NodeJS.ArrayBufferView, ...rest: Array<number | null | undefined>): number => {
      disk.writes++;
      if (disk.error !== undefined) throw errno(disk.error, 'write');
      let bytes: Buffer;
      let position: number | null | undefined;
      if (typeof data === 'string') {
        bytes = Buffer.from(data);
        position = rest[0];
      } else {
        const offset = rest[0] ?? 0;
        bytes = Buffer.from(data.buffer, data.byteOffset + offset, rest[1] ?? data.byteLength - offset);
        position = rest[2];
      }
      if (disk.room <= 0 || (disk.zerosFail && bytes.every((byte) => byte === 0))) throw errno('ENOSPC', 'write');
      // As the kernel does when the disk fills mid-write: what fits, then ENOSPC on the next write.
      const length = Math.min(bytes.length, disk.room);
      disk.room -= length;
      return fs.writeSync(fd, bytes, 0, length, position);
    },
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
      if (disk.syncError !== undefined) return void setImmediate(() => callback(errno(disk.syncError!, 'fdatasync')));
      fs.fdatasync(fd, callback);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'submit-once-disk-full-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  disk.room = Infinity;
  disk.error = undefined;
  disk.syncError = undefined;
  disk.zerosFail = false;
});

let files = 0;
const newPath = (): string => join(dir, `keys-${++files}.jsonl`);
const response = { status: 201, headers: {}, body: new Uint8Array(Buffer.from('made')) };
const outcome = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    (value) => (typeof value === 'object' && value !== null && 'status' in value ? String(value.status) : String(value)),
    (error: unknown) => (error as Error).name,
  );

/** Every line up to the first NUL parses: a torn line was not left for the next one to be glued onto. */
function expectWholeLines(path: string): void {
  const bytes = readFileSync(path);
  const text = bytes.subarray(0, bytes.includes(0) ? bytes.indexOf(0) : bytes.length).toString('utf8');
  for (const line of text.split('\n').filter((l) => l !== '')) expect(() => JSON.parse(line) as unknown).not.toThrow();
}

describe('file store, a disk full for a moment', () => {
  it('serves again once the disk has room, the failed run unknown, not free', async () => {
    const path = newPath();
    const store = fileStore(path, { sweepIntervalMs: 0 });
    try {
      const now = Date.now();
      const claim = await store.claim(claimOf('order', now));
      if (claim.status !== 'claimed') throw new Error('expected a claim');
      disk.room = 0;
      const completion = store.complete({ key: 'order', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now });
      await expect(completion).rejects.toThrow();
      disk.room = Infinity;
      // The handler's effect happened; its completion is not on disk: never free, never completed.
      expect((await store.claim(claimOf('order', now + 1))).status).toBe('unknown');
      expect((await store.claim(claimOf('another', now + 1))).status).toBe('claimed');
    } finally {
      await store.close();
    }
  });

  it('a completion written with a failing claim in one write is not replayed, and nothing acknowledged is lost', async () => {
    const path = newPath();
    const now = Date.now();
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const acked = await store.claim(claimOf('acked', now));
    if (acked.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.complete({ key: 'acked', token: acked.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    const held = await store.claim(claimOf('held', now));
    if (held.status !== 'claimed') throw new Error('expected a claim');
    // Held in memory until its sync; the claim's write takes it along, and fails.
    const completion = outcome(store.complete({ key: 'held', token: held.token, fingerprint: 'fp', response, retentionMs: 60_000, now }));
    disk.room = 0;
    expect(await outcome(store.claim(claimOf('failed', now)))).toBe('StoreUnavailableError');
    expect(await completion).toBe('StoreUnavailableError');
    disk.room = Infinity;
    expect(await outcome(store.claim(claimOf('held', now + 1)))).toBe('unknown');
    expect(await outcome(store.claim(claimOf('acked', now + 1)))).toBe('completed');
    // Its claim was refused (503): its handler never ran, so it is free.
    expect(await outcome(store.claim(claimOf('failed', now + 1)))).toBe('claimed');
    await store.close();
    const restarted = fileStore(path, { sweepIntervalMs: 0 });
    try {
      expect(await outcome(restarted.claim(claimOf('acked', now + 2)))).toBe('completed');
      expect(await outcome(restarted.claim(claimOf('held', now + 2)))).toBe('unknown');
      expect(await outcome(restarted.claim(claimOf('failed', now + 2)))).toBe('unknown');
    } finally {
      await restarted.close();
    }
  });

  it('does not reopen while a sync is due: the completions it waits for went with the failed write and are not acknowledged', async () => {
    const store = fileStore(newPath(), { sweepIntervalMs: 0 });
    try {
      const now = Date.now();
      const held = await store.claim(claimOf('held', now));
      if (held.status !== 'claimed') throw new Error('expected a claim');
      // All in one turn: the completion's sync is due once it ends.
      const completion = outcome(store.complete({ key: 'held', token: held.token, fingerprint: 'fp', response, retentionMs: 60_000, now }));
      disk.room = 0;
      const failing = outcome(store.claim(claimOf('failing', now)));
      disk.room = Infinity;
      const next = outcome(store.claim(claimOf('next', now)));
      expect([await failing, await next, await completion]).toEqual(['StoreUnavailableError', 'StoreUnavailableError', 'StoreUnavailableError']);
      expect(await outcome(store.claim(claimOf('held', now + 1)))).toBe('unknown');
    } finally {
      await store.close();
    }
  });

  it('a handler in flight whose completion comes first after the failure: stored, once the disk has room', async () => {
    const path = newPath();
    const now = Date.now();
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const running = await store.claim(claimOf('running', now));
    if (running.status !== 'claimed') throw new Error('expected a claim');
    disk.room = 0;
    expect(await outcome(store.claim(claimOf('refused', now)))).toBe('StoreUnavailableError');
    disk.room = Infinity;
    expect(await store.complete({ key: 'running', token: running.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    expect(await outcome(store.claim(claimOf('running', now + 1)))).toBe('completed');
    await store.close();
    const restarted = fileStore(path, { sweepIntervalMs: 0 });
    try {
      expect(await outcome(restarted.claim(claimOf('running', now + 2)))).toBe('completed');
    } finally {
      await restarted.close();
    }
  });

  it('a handler in flight keeps renewing its lease while the disk is full: after the reopen a recovering claim still finds it running', async () => {
    const clock = manualClock();
    const t0 = clock.now();
    const store = fileStore(newPath(), { sweepIntervalMs: 0, now: clock.now });
    try {
      const running = await store.claim(claimOf('running', t0, { leaseMs: 1_000 }));
      if (running.status !== 'claimed') throw new Error('expected a claim');
      disk.room = 0;
      expect(await outcome(store.claim(claimOf('refused', t0)))).toBe('StoreUnavailableError');
      clock.advance(900);
      // What the lease keeper does every half lease; the renewal needs no disk.
      expect(await store.renew({ key: 'running', token: running.token, leaseMs: 1_000, now: clock.now() })).toBe(true);
      clock.advance(600);
      disk.room = Infinity;
      expect(await outcome(store.claim(claimOf('running', clock.now(), { recover: true })))).toBe('in-progress');
    } finally {
      await store.close();
    }
  });

  it('a line torn by the full disk is not glued to the next: the file still loads after a restart', async () => {
    const path = newPath();
    const now = Date.now();
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const before = await store.claim(claimOf('before', now));
    if (before.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.complete({ key: 'before', token: before.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    // Part of the claim's line reaches the file, then the disk is full.
    disk.room = 12;
    expect(await outcome(store.claim(claimOf('torn', now)))).toBe('StoreUnavailableError');
    disk.room = Infinity;
    const after = await store.claim(claimOf('after', now + 1));
    if (after.status !== 'claimed') throw new Error(`expected a claim, got ${after.status}`);
    expect(await store.complete({ key: 'after', token: after.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    await store.close();
    expectWholeLines(path);
    const restarted = fileStore(path, { sweepIntervalMs: 0 });
    try {
      expect(await outcome(restarted.claim(claimOf('before', now + 2)))).toBe('completed');
      expect(await outcome(restarted.claim(claimOf('after', now + 2)))).toBe('completed');
      expect(await outcome(restarted.claim(claimOf('torn', now + 2)))).toBe('claimed');
    } finally {
      await restarted.close();
    }
  });

  it('a disk with room for the lines but not for the zeros after them: the store reopens, and restarts, without them', async () => {
    const clock = manualClock();
    const path = newPath();
    const options = { sweepIntervalMs: 0, preallocateBytes: 64 * 1024, now: clock.now };
    const store = fileStore(path, options);
    const t0 = clock.now();
    const acked = await store.claim(claimOf('acked', t0));
    if (acked.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.complete({ key: 'acked', token: acked.token, fingerprint: 'fp', response, retentionMs: 600_000, now: t0 })).toBe(true);
    disk.room = 0;
    expect(await outcome(store.claim(claimOf('refused', t0)))).toBe('StoreUnavailableError');
    // Room back for the lines, not for the zeros.
    disk.room = Infinity;
    disk.zerosFail = true;
    clock.advance(1_000);
    try {
      expect(await outcome(store.claim(claimOf('after', clock.now())))).toBe('claimed');
      expect(await outcome(store.claim(claimOf('acked', clock.now())))).toBe('completed');
    } finally {
      await store.close();
    }
    const restarted = fileStore(path, options);
    try {
      expect(await outcome(restarted.claim(claimOf('acked', clock.now())))).toBe('completed');
      expect(await outcome(restarted.claim(claimOf('after', clock.now())))).toBe('unknown');
    } finally {
      await restarted.close();
    }
  });

  it('a try that took long (a large file) is not followed by another until nine times as long has passed: the event loop is not all rereads while the disk stays full', async () => {
    // The store's clock, moving a second at each read of it while a try runs: a try of ~3 s,
    // as one over a 100 MB file measured here (2.7 s, 300k completed keys).
    let time = Date.now();
    let slow = false;
    const now = (): number => (slow ? (time += 1_000) : time);
    const store = fileStore(newPath(), { sweepIntervalMs: 0, now });
    try {
      disk.room = 0;
      expect(await outcome(store.claim(claimOf('a', now())))).toBe('StoreUnavailableError');
      slow = true;
      expect(await outcome(store.claim(claimOf('b', time)))).toBe('StoreUnavailableError');
      slow = false;
      const writes = disk.writes;
      // 1.5 s after the try ended: with tries a second apart from their start, the next
      // call would reread and rewrite again at once, and so on for as long as the disk is full.
      time += 1_500;
      expect(await outcome(store.claim(claimOf('c', time)))).toBe('StoreUnavailableError');
      expect(disk.writes).toBe(writes);
      time += 30_000;
      disk.room = Infinity;
      expect(await outcome(store.claim(claimOf('d', time)))).toBe('claimed');
    } finally {
      await store.close();
    }
  });

  it('a claim refused with its line written but for the newline (the disk full one byte short): its key is free once the disk has room', async () => {
    const path = newPath();
    const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 0 });
    try {
      const now = Date.now();
      const before = readFileSync(path).length;
      expect((await store.claim(claimOf('k1', now))).status).toBe('claimed');
      const line = readFileSync(path).length - before;
      disk.room = line - 1;
      expect(await outcome(store.claim(claimOf('k2', now)))).toBe('StoreUnavailableError');
      expect(readFileSync(path).subarray(-5).toString()).toMatch(/}$/);
      disk.room = Infinity;
      // Its handler never ran (the client got 503): the retry runs it, not 409 then outcome-unknown.
      expect(await outcome(store.claim(claimOf('k2', now + 1)))).toBe('claimed');
      expectWholeLines(path);
    } finally {
      await store.close();
    }
  });

  it('tries the disk again at most once a second while it stays full: the requests between answer 503 without writing', async () => {
    const clock = manualClock();
    const store = fileStore(newPath(), { sweepIntervalMs: 0, now: clock.now });
    try {
      disk.room = 0;
      expect(await outcome(store.claim(claimOf('a', clock.now())))).toBe('StoreUnavailableError');
      // The first call after the failure tries again at once.
      expect(await outcome(store.claim(claimOf('b', clock.now())))).toBe('StoreUnavailableError');
      const writes = disk.writes;
      for (let i = 0; i < 50; i++) expect(await outcome(store.claim(claimOf(`c${i}`, clock.now())))).toBe('StoreUnavailableError');
      clock.advance(999);
      disk.room = Infinity;
      expect(await outcome(store.claim(claimOf('d', clock.now())))).toBe('StoreUnavailableError');
      expect(disk.writes).toBe(writes);
      clock.advance(1);
      expect(await outcome(store.claim(claimOf('e', clock.now())))).toBe('claimed');
    } finally {
      await store.close();
    }
  });

  it('a compaction after a sweep that fails on the full disk: serves again once it has room, keeping what was acknowledged', async () => {
    const clock = manualClock();
    const path = newPath();
    const store = fileStore(path, { sweepIntervalMs: 0, compactAfterLines: 10, now: clock.now });
    const t0 = clock.now();
    const kept = await store.claim(claimOf('kept', t0));
    if (kept.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.complete({ key: 'kept', token: kept.token, fingerprint: 'fp', response, retentionMs: 600_000, now: t0 })).toBe(true);
    for (let i = 0; i < 8; i++) {
      const claim = await store.claim(claimOf(`short${i}`, t0));
      if (claim.status !== 'claimed') throw new Error('expected a claim');
      expect(await store.release({ key: `short${i}`, token: claim.token, retentionMs: 1_000, now: t0 })).toBe(true);
    }
    clock.advance(5_000);
    disk.room = 0;
    expect(await store.sweep(clock.now())).toBe(8);
    expect(await outcome(store.claim(claimOf('during', clock.now())))).toBe('StoreUnavailableError');
    disk.room = Infinity;
    clock.advance(1_000);
    try {
      expect(await outcome(store.claim(claimOf('kept', clock.now())))).toBe('completed');
      expect(await outcome(store.claim(claimOf('later', clock.now())))).toBe('claimed');
    } finally {
      await store.close();
    }
    expectWholeLines(path);
    const restarted = fileStore(path, { sweepIntervalMs: 0, now: clock.now });
    try {
      expect(await outcome(restarted.claim(claimOf('kept', clock.now())))).toBe('completed');
      expect(await outcome(restarted.claim(claimOf('later', clock.now())))).toBe('unknown');
    } finally {
      await restarted.close();
    }
  });

  it.each(['EIO', 'ENOSPC'])('a failed fdatasync (%s) is not got past: the store stays closed until a restart', async (code) => {
    const clock = manualClock();
    const store = fileStore(newPath(), { sweepIntervalMs: 0, now: clock.now });
    try {
      const claim = await store.claim(claimOf('a', clock.now()));
      if (claim.status !== 'claimed') throw new Error('expected a claim');
      // Pages the kernel could not write back are marked clean: once evicted, they read back without their lines.
      disk.syncError = code;
      expect(await outcome(store.complete({ key: 'a', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now: clock.now() }))).toBe('StoreUnavailableError');
      disk.syncError = undefined;
      clock.advance(5_000);
      expect(await outcome(store.claim(claimOf('b', clock.now())))).toBe('StoreUnavailableError');
    } finally {
      await store.close();
    }
  });

  it('an I/O error (EIO) on write is not a full disk: the store stays closed until a restart', async () => {
    const clock = manualClock();
    const store = fileStore(newPath(), { sweepIntervalMs: 0, now: clock.now });
    try {
      disk.error = 'EIO';
      expect(await outcome(store.claim(claimOf('a', clock.now())))).toBe('StoreUnavailableError');
      disk.error = undefined;
      clock.advance(5_000);
      expect(await outcome(store.claim(claimOf('b', clock.now())))).toBe('StoreUnavailableError');
    } finally {
      await store.close();
    }
  });
});

describe('file store behind the middleware, a disk full for a moment: each handler runs at most once', () => {
  const serve = serverPerTest();

  function counting(store: IdempotencyStore, recovery = false) {
    const runs = new Map<string, number>();
    const gates = new Map<string, () => void>();
    const listener = idempotency({ store, recovery }).handler(async (req, res: ServerResponse) => {
      const name = req.url ?? '';
      runs.set(name, (runs.get(name) ?? 0) + 1);
      if (name.endsWith('/slow')) await new Promise<void>((resolve) => gates.set(name, resolve));
      if (name.endsWith('/fills-disk')) disk.room = 0;
      res.writeHead(201, { 'Content-Type': 'text/plain' }).end(`made ${name}`);
    });
    return { runs, gates, listener };
  }

  it('a run whose completion hit the full disk answers outcome-unknown, and a new key runs once the disk has room', async () => {
    const path = newPath();
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const { runs, listener } = counting(store);
    const url = await serve(listener);
    // The handler's answer still goes out: the effect happened; only its record is missing.
    expect((await post(`${url}/fills-disk`, { key: 'k1', body: {} })).status).toBe(201);
    disk.room = Infinity;
    const retry = await post(`${url}/fills-disk`, { key: 'k1', body: {} });
    expect(retry.status).toBe(500);
    expect(retry.text).toContain('outcome-unknown');
    const fresh = await post(`${url}/orders`, { key: 'k2', body: {} });
    expect(fresh.status).toBe(201);
    expect((await post(`${url}/orders`, { key: 'k2', body: {} })).headers.get('idempotent-replayed')).toBe('true');
    await store.close();
    const restarted = fileStore(path, { sweepIntervalMs: 0 });
    const again = counting(restarted);
    const url2 = await serve(again.listener);
    try {
      expect((await post(`${url2}/fills-disk`, { key: 'k1', body: {} })).status).toBe(500);
      expect((await post(`${url2}/orders`, { key: 'k2', body: {} })).text).toBe('made /orders');
    } finally {
      await restarted.close();
    }
    expect([runs.get('/fills-disk'), runs.get('/orders'), again.runs.size]).toEqual([1, 1, 0]);
  });

  it('a handler in flight across the failure keeps its key (a duplicate, even a recovering one, does not run) and its late answer is stored', async () => {
    const store = fileStore(newPath(), { sweepIntervalMs: 0 });
    const plain = counting(store);
    const recovering = counting(store, true);
    const url = await serve(plain.listener);
    const recoveringUrl = await serve(recovering.listener);
    try {
      const slow = post(`${url}/slow`, { key: 'slow', body: {} });
      await vi.waitFor(() => expect(plain.gates.has('/slow')).toBe(true));
      disk.room = 0;
      const refused = await post(`${url}/orders`, { key: 'refused', body: {} });
      expect(refused.status).toBe(503);
      disk.room = Infinity;
      // The next request gets the store back.
      expect((await post(`${url}/orders`, { key: 'next', body: {} })).status).toBe(201);
      expect((await post(`${url}/slow`, { key: 'slow', body: {} })).status).toBe(409);
      expect((await post(`${recoveringUrl}/slow`, { key: 'slow', body: {} })).status).toBe(409);
      plain.gates.get('/slow')!();
      expect((await slow).text).toBe('made /slow');
      const replay = await post(`${recoveringUrl}/slow`, { key: 'slow', body: {} });
      expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([201, 'made /slow', 'true']);
      // Refused with 503 before its handler ran: the retry runs it, once.
      expect((await post(`${url}/orders`, { key: 'refused', body: {} })).status).toBe(201);
      expect([plain.runs.get('/slow'), recovering.runs.get('/slow'), plain.runs.get('/orders')]).toEqual([1, undefined, 2]);
    } finally {
      plain.gates.get('/slow')?.();
      await store.close();
    }
  });

  it('a claim line the kernel lost before the reopen (its writeback failed: NFS, a thin pool): the store stays closed, a duplicate does not run', async () => {
    const path = newPath();
    const store = fileStore(path, { sweepIntervalMs: 0 });
    let runs = 0;
    const gates: Array<() => void> = [];
    const url = await serve(
      idempotency({ store }).handler(async (_req, res: ServerResponse) => {
        runs++;
        await new Promise<void>((resolve) => gates.push(resolve));
        res.end('charged');
      }),
    );
    try {
      const first = post(`${url}/charge`, { key: 'charge', body: {} });
      await vi.waitFor(() => expect(runs).toBe(1));
      // Written to the page cache before the handler ran; then the disk (or the server) fills.
      const bytes = readFileSync(path);
      const start = bytes.indexOf('{"o":"r"');
      const end = bytes.indexOf('\n', start) + 1;
      expect(bytes.subarray(start, end).toString()).toContain('"s":"p"');
      disk.room = 0;
      expect((await post(`${url}/other`, { key: 'other', body: {} })).status).toBe(503);
      disk.room = Infinity;
      // The write back of that page failed and the kernel dropped it: read again, the file
      // has the zeros the disk held there (as Linux does after a failed writeback).
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.alloc(end - start), 0, end - start, start);
      closeSync(fd);
      let answered: number | undefined;
      void post(`${url}/charge`, { key: 'charge', body: {} }).then((answer) => (answered = answer.status));
      await vi.waitFor(() => expect(answered !== undefined || runs > 1).toBe(true));
      expect(runs).toBe(1);
      expect(answered).toBe(503);
      gates.forEach((open) => open());
      expect((await first).text).toBe('charged');
    } finally {
      gates.forEach((open) => open());
      await store.close();
    }
  });
});
