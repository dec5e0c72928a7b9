import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore, isStoreLockedError } from '../../src/server/index.js';
import { isInvalidOptionsError } from '../../src/server/invalid-options-error.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = { sweepIntervalMs: 0 };
const response = { status: 201, headers: {}, body: new Uint8Array([1]) };

async function completeOnce(path: string, key: string): Promise<void> {
  const store = fileStore(path, options);
  try {
    const claim = await store.claim(claimOf(key, Date.now()));
    if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
    expect(await store.complete({ key, token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now: Date.now() })).toBe(true);
  } finally {
    await store.close();
  }
}

async function statusAt(path: string, key: string): Promise<string> {
  const store = fileStore(path, options);
  try {
    return (await store.claim(claimOf(key, Date.now()))).status;
  } finally {
    await store.close();
  }
}

/** What `fileStore` threw at open, or undefined if it opened (then it is closed again). */
async function openError(path: unknown): Promise<unknown> {
  try {
    await fileStore(path as string, options).close();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('file store opened through a symbolic link (a data volume linked into the app directory)', () => {
  it('writes to the file the link names and keeps the link: a completion is found at the target after a restart', async () => {
    const volume = join(dir, 'volume');
    const app = join(dir, 'app');
    mkdirSync(volume);
    mkdirSync(app);
    const target = join(volume, 'keys.jsonl');
    const link = join(app, 'keys.jsonl');
    writeFileSync(target, '');
    symlinkSync(target, link);
    await completeOnce(link, 'order');
    // Before: the open's compaction renamed its snapshot over the link, which became a file of the app directory.
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(await statusAt(target, 'order')).toBe('completed');
    expect(await statusAt(link, 'order')).toBe('completed');
  });

  it('does the same for a link whose file does not exist yet, creating it', async () => {
    const target = join(dir, 'later.jsonl');
    const link = join(dir, 'later-link.jsonl');
    symlinkSync(target, link);
    await completeOnce(link, 'order');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(await statusAt(target, 'order')).toBe('completed');
  });

  it('refuses a second store on the same file under its other name, as under the same one', async () => {
    const target = join(dir, 'shared.jsonl');
    const link = join(dir, 'shared-link.jsonl');
    writeFileSync(target, '');
    symlinkSync(target, link);
    const first = fileStore(link, options);
    try {
      // Before: it opened, two writers on one file, each answering claims from its own memory (two runs of one key).
      expect(isStoreLockedError(await openError(target))).toBe(true);
    } finally {
      await first.close();
    }
    const second = fileStore(target, options);
    try {
      expect(isStoreLockedError(await openError(link))).toBe(true);
    } finally {
      await second.close();
    }
  });
});

describe('file store given no usable path', () => {
  it.each([
    ['an empty string', ''],
    ['undefined', undefined],
    ['a number', 42],
  ])('refuses %s with an InvalidOptionsError naming path, before creating anything', async (_, path) => {
    // Before: an ENOENT or a TypeError from rename, after a lock and a 1 MiB '.tmp' or 'undefined.tmp' were made in the working directory.
    const error = await openError(path);
    expect(isInvalidOptionsError(error)).toBe(true);
    expect((error as { option?: unknown }).option).toBe('path');
  });

  it('refuses a directory with an InvalidOptionsError naming it', async () => {
    const error = await openError(dir);
    expect(isInvalidOptionsError(error)).toBe(true);
    expect((error as Error).message).toContain(dir);
  });
});
