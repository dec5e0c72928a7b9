// A power loss (or an OS crash) while a handler runs: with durability 'relaxed' (the
// default) the claim line is in the page cache only, so the cut can free the key and the
// retry runs the handler a second time; with 'strict' the claim is fdatasynced (group-
// committed) before `claim` resolves, so the retry is told unknown. The power cut is
// simulated as file-store-crash's tests do: the file cut to what the last finished
// fdatasync made durable (its size when that sync began; preallocateBytes: 0, so the
// size is the lines').
import { copyFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fileStore, idempotency, isInvalidOptionsError, type FileStoreOptions } from '../../src/server/index.js';
import { claimOf } from './conformance.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

/** `durable`: the file's size when the last fdatasync that finished began; `syncs`: fdatasync calls. */
const disk = vi.hoisted(() => ({ durable: 0, syncs: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      disk.syncs++;
      const size = fs.fstatSync(fd).size;
      fs.fdatasync(fd, (error) => {
        if (error === null) disk.durable = size;
        callback(error);
      });
    },
  };
});

const serve = serverPerTest();
const dir = mkdtempSync(join(tmpdir(), 'submit-once-power-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** A copy of `path` as a power loss now leaves it: only what the last finished fdatasync covered (one store syncs at a time here). */
function powerCut(path: string): string {
  const after = join(dir, `after-${++counter}.jsonl`);
  copyFileSync(path, after);
  truncateSync(after, disk.durable);
  return after;
}

const response = { status: 201, headers: {}, body: new Uint8Array([1]) };

async function chargeThenPowerCut(options: FileStoreOptions): Promise<{ earlier: string; charge: string }> {
  const path = join(dir, `keys-${++counter}.jsonl`);
  const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 0, ...options });
  const now = Date.now();
  // An earlier request, completed: everything up to its line is on disk.
  const earlier = await store.claim(claimOf('earlier', now));
  if (earlier.status !== 'claimed') throw new Error('expected a claim');
  await store.complete({ key: 'earlier', token: earlier.token, fingerprint: 'fp', response, retentionMs: 60_000, now });
  // The charge: claimed, its handler has called the payment provider, and the power goes.
  const charge = await store.claim(claimOf('charge', now));
  expect(charge.status).toBe('claimed');
  const afterPowerLoss = powerCut(path);
  await store.close();
  const restarted = fileStore(afterPowerLoss, { sweepIntervalMs: 0 });
  try {
    return {
      earlier: (await restarted.claim(claimOf('earlier', now + 1))).status,
      charge: (await restarted.claim(claimOf('charge', now + 1))).status,
    };
  } finally {
    await restarted.close();
  }
}

describe('file store, the power cut while a handler runs', () => {
  it("durability 'strict': the running claim was synced before the handler ran, the retry is told unknown, not run again", async () => {
    expect(await chargeThenPowerCut({ durability: 'strict' })).toEqual({ earlier: 'completed', charge: 'unknown' });
  });

  it("durability 'relaxed' (the default): the claim was not synced, the cut frees its key and the retry runs again", async () => {
    expect(await chargeThenPowerCut({})).toEqual({ earlier: 'completed', charge: 'claimed' });
    expect(await chargeThenPowerCut({ durability: 'relaxed' })).toEqual({ earlier: 'completed', charge: 'claimed' });
  });

  it("durability 'strict': the claims and completions of one turn share one fdatasync", async () => {
    const store = fileStore(join(dir, `group-${++counter}.jsonl`), { sweepIntervalMs: 0, durability: 'strict' });
    const now = Date.now();
    const first = await store.claim(claimOf('first', now));
    if (first.status !== 'claimed') throw new Error('expected a claim');
    const before = disk.syncs;
    const results = await Promise.all([
      store.claim(claimOf('a', now)),
      store.claim(claimOf('b', now)),
      store.claim(claimOf('c', now)),
      store.complete({ key: 'first', token: first.token, fingerprint: 'fp', response, retentionMs: 60_000, now }),
    ]);
    expect(results.map((result) => (typeof result === 'boolean' ? result : result.status))).toEqual(['claimed', 'claimed', 'claimed', true]);
    expect(disk.syncs - before).toBe(1);
    await store.close();
  });

  it("durability 'strict': no claim answered at once (no sync), and behind the middleware the handler starts only once its claim is synced", async () => {
    const path = join(dir, `http-${++counter}.jsonl`);
    const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 0, durability: 'strict' });
    expect(store.sync).toBeUndefined();
    const relaxed = fileStore(join(dir, `relaxed-${counter}.jsonl`), { sweepIntervalMs: 0 });
    expect(relaxed.sync).toBeDefined();
    await relaxed.close();
    /** Per request, what a power loss at the start of its handler would have left. */
    const atStart = new Map<string, string>();
    const app = express();
    app.use(express.json());
    app.use(idempotency({ store }));
    app.post('/orders', (req, res) => {
      atStart.set(req.get('Idempotency-Key')!, powerCut(path));
      res.status(201).json({ ok: true });
    });
    const url = await serve(app);
    const keys = ['k1', 'k2', 'k3'];
    const answers = await Promise.all(keys.map((key) => post(`${url}/orders`, { key, body: { key } })));
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201]);
    await store.close();
    // The retry of each, on the machine restarted from that cut: never run a second time.
    const reruns: string[] = [];
    for (const key of keys) {
      const restarted = express();
      restarted.use(express.json());
      restarted.use(idempotency({ store: fileStore(atStart.get(key)!, { sweepIntervalMs: 0 }) }));
      restarted.post('/orders', (_req, res) => {
        reruns.push(key);
        res.status(201).json({ ok: true });
      });
      const retry = await post(`${await serve(restarted)}/orders`, { key, body: { key } });
      expect(retry.json().type).toMatch(/outcome-unknown/);
    }
    expect(reruns).toEqual([]);
  });

  it('refuses a durability it does not know with InvalidOptionsError, before the file is opened', () => {
    const path = join(dir, `invalid-${++counter}.jsonl`);
    for (const durability of ['fast', '', 'STRICT', 1, {}]) {
      let thrown: unknown;
      try {
        fileStore(path, { sweepIntervalMs: 0, durability: durability as FileStoreOptions['durability'] });
      } catch (error) {
        thrown = error;
      }
      expect(isInvalidOptionsError(thrown) && thrown.option).toBe('durability');
    }
    // No lock left behind.
    void fileStore(path, { sweepIntervalMs: 0 }).close();
  });
});
