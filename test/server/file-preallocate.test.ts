import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-preallocate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const path = (): string => join(dir, `log-${++counter}.jsonl`);
const response = { status: 201, headers: { 'content-type': 'text/plain' }, body: new Uint8Array(Buffer.from('done')) };

async function completeKey(store: IdempotencyStore, key: string, now: number): Promise<void> {
  const claim = await store.claim(claimOf(key, now));
  if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
  expect(await store.complete({ key, token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
}

/** The file's lines (up to its first NUL) and whether every byte after them is zero. */
function layout(file: string): { lines: string[]; zeros: number; onlyZerosAfter: boolean } {
  const bytes = readFileSync(file);
  const end = bytes.indexOf(0);
  const text = bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
  const tail = end === -1 ? Buffer.alloc(0) : bytes.subarray(end);
  return { lines: text.split('\n').filter((line) => line !== ''), zeros: tail.length, onlyZerosAfter: tail.every((byte) => byte === 0) };
}

/** A `d` line of the oldest format (still read): key completed with body "done". */
const doneLine = (key: string, expiresAt: number): string =>
  JSON.stringify({ o: 'd', k: key, f: 'fp', e: expiresAt, r: { s: 201, h: {}, b: Buffer.from('done').toString('base64') } });

describe('file store preallocation', () => {
  it('writes lines into zeros kept ahead of them: a completion and its sync leave the file size as it was', async () => {
    const file = path();
    const store = fileStore(file, { sweepIntervalMs: 0 });
    const now = Date.now();
    await completeKey(store, 'warm', now);
    const size = statSync(file).size;
    expect(size).toBeGreaterThanOrEqual(1024 * 1024);
    for (let i = 0; i < 20; i++) await completeKey(store, `k${i}`, now);
    expect(statSync(file).size).toBe(size);
    const { lines, zeros, onlyZerosAfter } = layout(file);
    expect(lines).toHaveLength(42);
    expect(zeros).toBeGreaterThan(0);
    expect(onlyZerosAfter).toBe(true);
    await store.close();
  });

  it('adds zeros a step at a time as lines fill them, and a killed process or a restart finds every line', async () => {
    const file = path();
    const store = fileStore(file, { sweepIntervalMs: 0, preallocateBytes: 512 });
    const now = Date.now();
    const sizes = new Set<number>();
    for (let i = 0; i < 40; i++) {
      await completeKey(store, `k${i}`, now);
      sizes.add(statSync(file).size);
      const { zeros, onlyZerosAfter } = layout(file);
      expect(zeros).toBeGreaterThan(0);
      expect(onlyZerosAfter).toBe(true);
    }
    // 80 lines of about 200 bytes: the zeros ran out several times.
    expect(sizes.size).toBeGreaterThan(5);
    const claim = await store.claim(claimOf('running', now));
    expect(claim.status).toBe('claimed');
    // What a killed process leaves: the kernel's copy of the file, the last claim in it.
    const killed = join(dir, `log-${counter}-killed.jsonl`);
    copyFileSync(file, killed);
    await store.close();
    for (const reopened of [fileStore(killed, { sweepIntervalMs: 0, preallocateBytes: 512 }), fileStore(file, { sweepIntervalMs: 0 })]) {
      for (let i = 0; i < 40; i++) expect((await reopened.claim(claimOf(`k${i}`, now + 1))).status).toBe('completed');
      expect((await reopened.claim(claimOf('running', now + 1))).status).toBe('unknown');
      await reopened.close();
    }
  });

  it('ends the log at its first NUL: a torn line before the zeros and whatever follows them are not read, and the lines written after reopening are', async () => {
    const file = path();
    const expiresAt = Date.now() + 60_000;
    const zeros = '\0'.repeat(5000);
    // A crash mid-line, then a hole a power loss left in the unsynced tail, with a line after it.
    writeFileSync(file, `${doneLine('a', expiresAt)}\n${doneLine('torn', expiresAt).slice(0, 30)}${zeros}\n${doneLine('after-hole', expiresAt)}\n${zeros}`);
    const now = Date.now();
    const store = fileStore(file, { sweepIntervalMs: 0 });
    expect((await store.claim(claimOf('a', now))).status).toBe('completed');
    expect((await store.claim(claimOf('torn', now))).status).toBe('claimed');
    expect((await store.claim(claimOf('after-hole', now))).status).toBe('claimed');
    await completeKey(store, 'b', now);
    await store.close();
    const reopened = fileStore(file, { sweepIntervalMs: 0 });
    expect((await reopened.claim(claimOf('a', now + 1))).status).toBe('completed');
    expect((await reopened.claim(claimOf('b', now + 1))).status).toBe('completed');
    expect((await reopened.claim(claimOf('torn', now + 1))).status).toBe('unknown');
    await reopened.close();
  });

  it('reads a last line whose newline was lost before the zeros, as at the end of a file without them', async () => {
    const file = path();
    writeFileSync(file, `${doneLine('a', Date.now() + 60_000)}\0\0\0\0`);
    const store = fileStore(file, { sweepIntervalMs: 0 });
    expect((await store.claim(claimOf('a', Date.now()))).status).toBe('completed');
    await store.close();
  });

  it('reads a file written before preallocation (no NUL, its last line without a newline), then keeps zeros after its lines', async () => {
    const file = path();
    const expiresAt = Date.now() + 60_000;
    writeFileSync(file, `${doneLine('a', expiresAt)}\n${doneLine('b', expiresAt)}`);
    const store = fileStore(file, { sweepIntervalMs: 0 });
    const now = Date.now();
    expect((await store.claim(claimOf('a', now))).status).toBe('completed');
    expect((await store.claim(claimOf('b', now))).status).toBe('completed');
    expect((await store.claim(claimOf('c', now))).status).toBe('claimed');
    await store.close();
    const { lines, onlyZerosAfter } = layout(file);
    expect(lines).toHaveLength(3);
    expect(onlyZerosAfter).toBe(true);
  });

  it('appends without zeros when preallocateBytes is 0', async () => {
    const file = path();
    const store = fileStore(file, { sweepIntervalMs: 0, preallocateBytes: 0 });
    await completeKey(store, 'a', Date.now());
    expect(layout(file)).toMatchObject({ lines: [expect.any(String), expect.any(String)], zeros: 0 });
    await store.close();
  });
});
