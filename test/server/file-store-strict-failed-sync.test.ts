// Pins a limit of fileStore's durability: 'strict' (README, "Stores"): a claim whose
// fdatasync failed is refused (503, its handler never runs), and a failed sync is fatal until
// a restart; but its line was written before the sync, so the restarted store reads it back
// as a claim whose holder died: 'unknown', and the retry is told outcome-unknown. Telling
// the two apart would take a second durable line before every handler (found by the second
// review of 5671901).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { fileStore, isStoreUnavailableError } from '../../src/server/index.js';
import { claimOf } from './conformance.js';

const disk = vi.hoisted(() => ({ failNext: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      if (!disk.failNext) return fs.fdatasync(fd, callback);
      disk.failNext = false;
      callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'submit-once-strict-failed-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => void (disk.failNext = false));

it("strict: a claim refused at its failed fdatasync (its handler never ran) reads back as 'unknown' after the restart, as the README says", async () => {
  const path = join(dir, 'keys.jsonl');
  const store = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 0, durability: 'strict' });
  const now = Date.now();
  disk.failNext = true;
  await expect(store.claim(claimOf('charge', now))).rejects.toSatisfy(isStoreUnavailableError);
  await store.close().catch(() => undefined);
  const restarted = fileStore(path, { sweepIntervalMs: 0, preallocateBytes: 0, durability: 'strict' });
  const retry = await restarted.claim(claimOf('charge', now + 1));
  await restarted.close();
  // Its line was written before the sync failed: the restart cannot tell it from a claim whose handler ran.
  expect(retry.status).toBe('unknown');
});
