import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore, isStoreLockedError, StoreLockedError } from '../../src/server/index.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-two-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const freshPath = (): string => join(dir, `keys-${++counter}.jsonl`);
const options = { sweepIntervalMs: 0 };
const response = { status: 201, headers: {}, body: new Uint8Array([1]) };

/** What `fileStore` threw, or undefined if it opened (then it is closed again). */
async function openError(path: string): Promise<unknown> {
  try {
    await fileStore(path, options).close();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A process that has exited, so its pid is surely not alive (the kernel hands pids out in order). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

/** `starttime` of /proc/PID/stat (field 22), as Linux records it. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}
const bootId = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const onLinux = existsSync('/proc/self/stat');

describe('file store opened twice while the first still runs (a rolling deploy that overlaps)', () => {
  it('refuses the second open in the same process, before touching the file, and keeps the completions the first acknowledges', async () => {
    const path = freshPath();
    const now = Date.now();
    const old = fileStore(path, options); // the instance being replaced
    const before = { ino: statSync(path).ino, text: readFileSync(path, 'utf8') };
    const refused = await openError(path); // the new one, started before the old one stops
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect(isStoreLockedError(refused)).toBe(true);
    expect((refused as StoreLockedError).message).toBe(`file store ${path} is already open in this process (pid ${process.pid}): close it before opening it again`);
    expect((refused as StoreLockedError).holder).toEqual({ pid: process.pid, host: hostname() });
    // Not compacted nor renamed under the first: its descriptor still points at the file.
    expect({ ino: statSync(path).ino, text: readFileSync(path, 'utf8') }).toEqual(before);
    // The old instance still serves a request: claimed, run, completed and fdatasynced, so its 201 goes out.
    const claim = await old.claim(claimOf('order', now));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    expect(await old.complete({ key: 'order', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    await old.close();
    const restarted = fileStore(path, options);
    try {
      expect((await restarted.claim(claimOf('order', now + 1))).status).toBe('completed');
    } finally {
      await restarted.close();
    }
  });

  it('refuses it in another process, naming the path and the holder; once the holder is killed -9 the next open takes its lock over and keeps its completion', async () => {
    const path = freshPath();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/server/fixtures/file-store-holder.ts', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`holder exited (${code}) before it was ready`)));
      });
      const refused = await openError(path);
      expect(isStoreLockedError(refused)).toBe(true);
      expect((refused as Error).message).toBe(
        `file store ${path} is in use by pid ${child.pid} on this host (lock file ${path}.lock): one process per file; stop that process first, or use redisStore or postgresStore for several instances`,
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // Its lock is left behind, naming a process that is gone.
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: child.pid });
    const restarted = fileStore(path, options);
    try {
      expect((await restarted.claim(claimOf('order', Date.now()))).status).toBe('completed');
      expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    } finally {
      await restarted.close();
    }
  });
});

describe('file store lock file', () => {
  it('is removed on close, and the file opens again after it', async () => {
    const path = freshPath();
    const first = fileStore(path, options);
    expect(existsSync(`${path}.lock`)).toBe(true);
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const again = fileStore(path, options);
    expect((await again.claim(claimOf('k', Date.now()))).status).toBe('claimed');
    await again.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('is left alone on close once another process holds it (it judged this one gone and took it over)', async () => {
    const path = freshPath();
    const store = fileStore(path, options);
    const theirs = `${JSON.stringify({ pid: process.ppid, host: hostname() })}\n`;
    writeFileSync(`${path}.lock`, theirs);
    await store.close();
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(theirs);
  });

  it('is released when the open fails after taking it', async () => {
    // A directory where the compacted file is written first: opening it fails (EISDIR) once the lock is held.
    const path = freshPath();
    mkdirSync(`${path}.tmp`);
    expect(((await openError(path)) as NodeJS.ErrnoException).code).toBe('EISDIR');
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('left by a process that is gone (a crash) is taken over', async () => {
    const path = freshPath();
    const pid = await deadPid();
    writeFileSync(`${path}.lock`, `${JSON.stringify({ pid, host: hostname() })}\n`);
    const store = fileStore(path, options);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    await store.close();
  });

  it('held by a live process on another host is refused: its liveness cannot be checked from here', async () => {
    const path = freshPath();
    writeFileSync(`${path}.lock`, `${JSON.stringify({ pid: 4242, host: 'elsewhere' })}\n`);
    const refused = await openError(path);
    expect((refused as Error).message).toBe(
      `file store ${path} is locked by pid 4242 on host elsewhere (lock file ${path}.lock), which cannot be checked from this host: stop that process first, or delete the lock file if it is gone`,
    );
    expect((refused as StoreLockedError).holder).toEqual({ pid: 4242, host: 'elsewhere' });
  });

  it('held by a process of another host with the same pid, about to remove its temporary name for the lock, is refused and left as it was', async () => {
    // Two containers on one volume, both pid 1, started together (a scaled compose service):
    // the other took the lock by linking PATH.lock.1 to PATH.lock and has not unlinked
    // PATH.lock.1 yet. Before: this open rewrote that name's file, the other's lock, with
    // its own record; refused as 'already open in this process', it restarted with a new
    // start time, took its own record for stale, and opened the file beside the other.
    const path = freshPath();
    const theirs = `${JSON.stringify({ pid: process.pid, host: 'other-container' })}\n`;
    writeFileSync(`${path}.lock`, theirs);
    linkSync(`${path}.lock`, `${path}.lock.${process.pid}`);
    const refused = await openError(path);
    expect((refused as StoreLockedError).holder).toEqual({ pid: process.pid, host: 'other-container' });
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(theirs);
  });

  it('that this store did not write is refused, not overwritten', async () => {
    const path = freshPath();
    writeFileSync(`${path}.lock`, 'something else\n');
    const refused = await openError(path);
    expect(isStoreLockedError(refused)).toBe(true);
    expect((refused as Error).message).toBe(`file store ${path} has a lock file ${path}.lock that it cannot read: delete it if no process uses the store`);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('something else\n');
  });

  describe.runIf(onLinux)('whose pid a live process holds again (pid reuse), on Linux', () => {
    // process.ppid: a live process on this host that is not this one.
    it('is refused when that process started when the lock says', async () => {
      const path = freshPath();
      writeFileSync(`${path}.lock`, `${JSON.stringify({ pid: process.ppid, host: hostname(), boot: bootId(), start: startTimeOf(process.ppid) })}\n`);
      expect(isStoreLockedError(await openError(path))).toBe(true);
    });

    it('is taken over when that process started at another time', async () => {
      const path = freshPath();
      writeFileSync(`${path}.lock`, `${JSON.stringify({ pid: process.ppid, host: hostname(), boot: bootId(), start: '1' })}\n`);
      expect(await openError(path)).toBeUndefined();
    });

    it('is taken over when it was written before the machine last booted', async () => {
      const path = freshPath();
      writeFileSync(`${path}.lock`, `${JSON.stringify({ pid: process.ppid, host: hostname(), boot: 'another-boot', start: startTimeOf(process.ppid) })}\n`);
      expect(await openError(path)).toBeUndefined();
    });

    it('is taken over when it names this process but another store instance does not hold it (a container restarted as pid 1)', async () => {
      const path = freshPath();
      writeFileSync(`${path}.lock`, `${JSON.stringify({ pid: process.pid, host: hostname(), boot: bootId(), start: '1' })}\n`);
      expect(await openError(path)).toBeUndefined();
    });
  });
});
