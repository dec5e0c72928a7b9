import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

/** The process a file store's lock names. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
}

/**
 * Thrown by `fileStore` at open when another store instance holds the file (another
 * process, or this one): a second writer would compact and rename the file under the
 * first, whose later completions would then go to an unlinked file and be lost.
 */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  readonly code = 'store-locked';
  constructor(
    message: string,
    /** The store's file. */
    readonly path: string,
    readonly lockPath: string,
    /** Undefined when the lock file could not be read. */
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
  }
}

export function isStoreLockedError(error: unknown): error is StoreLockedError {
  return error instanceof Error && (error as { code?: unknown }).code === 'store-locked';
}

/** What the lock file holds: enough to tell, on this host, whether its process still runs. */
interface LockRecord extends LockHolder {
  /** Linux's boot id: a lock from before the last boot is stale whatever its pid. */
  readonly boot?: string;
  /** Linux's start time of the process (clock ticks since boot): tells a reused pid apart. */
  readonly start?: string;
}

export interface FileLock {
  release(): void;
}

/**
 * Takes `${path}.lock` (LevelDB's LOCK, PostgreSQL's postmaster.pid: Node has no flock),
 * or throws `StoreLockedError`. The record is written and synced to a file of its own
 * first, then linked into place, which fails if the lock exists: the lock is never seen
 * empty or half written, even after a power loss. A lock whose process is gone is taken
 * over, so a crash does not stop the restart.
 */
export function acquireFileLock(path: string): FileLock {
  const lockPath = `${path}.lock`;
  const mine = `${JSON.stringify(ownRecord())}\n`;
  const tmp = uniqueName(lockPath);
  writeSynced(tmp, mine);
  try {
    // A few rounds: each one that loses does so to another opener, which then holds the lock.
    for (let round = 0; ; round++) {
      try {
        linkSync(tmp, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const text = readIfExists(lockPath);
      if (text === undefined) continue; // released meanwhile
      const holder = parseRecord(text);
      if (holder === undefined) {
        throw new StoreLockedError(`file store ${path} has a lock file ${lockPath} that it cannot read: delete it if no process uses the store`, path, lockPath, undefined);
      }
      const refusal = refusalOf(holder, path, lockPath);
      if (refusal !== undefined) throw refusal;
      if (round === 3) throw locked(path, lockPath, holder, `file store ${path} is being opened by other processes at the same time (lock file ${lockPath})`);
      removeIfUnchanged(lockPath, text);
    }
  } finally {
    unlinkSync(tmp);
  }
  return { release: () => removeIfUnchanged(lockPath, mine) };
}

/** Undefined when the holder is gone: its lock may be taken over. */
function refusalOf(holder: LockRecord, path: string, lockPath: string): StoreLockedError | undefined {
  if (holder.host !== hostname()) {
    return locked(path, lockPath, holder, `file store ${path} is locked by pid ${holder.pid} on host ${holder.host} (lock file ${lockPath}), which cannot be checked from this host: stop that process first, or delete the lock file if it is gone`);
  }
  if (!isRunning(holder)) return undefined;
  if (holder.pid === process.pid) {
    return locked(path, lockPath, holder, `file store ${path} is already open in this process (pid ${holder.pid}): close it before opening it again`);
  }
  return locked(path, lockPath, holder, `file store ${path} is in use by pid ${holder.pid} on this host (lock file ${lockPath}): one process per file; stop that process first, or use redisStore or postgresStore for several instances`);
}

const locked = (path: string, lockPath: string, holder: LockRecord, message: string): StoreLockedError =>
  new StoreLockedError(message, path, lockPath, { pid: holder.pid, host: holder.host });

/**
 * Whether the lock's process still runs on this host. Without /proc (not Linux), a pid
 * reused by another process keeps the lock held: the open is refused, never shared, and
 * the message says which lock file to delete.
 */
function isRunning(holder: LockRecord): boolean {
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = procStat(holder.pid);
  if (stat === undefined) return true;
  // A zombie: killed, not yet reaped by its parent.
  return stat.state !== 'Z' && (holder.start === undefined || holder.start === stat.start);
}

function ownRecord(): LockRecord {
  const boot = bootId();
  const start = procStat(process.pid)?.start;
  return { pid: process.pid, host: hostname(), ...(boot !== undefined ? { boot } : {}), ...(start !== undefined ? { start } : {}) };
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<Record<keyof LockRecord, unknown>> | null;
    if (typeof record?.pid !== 'number' || !Number.isSafeInteger(record.pid) || record.pid <= 0 || typeof record.host !== 'string') return undefined;
    return {
      pid: record.pid,
      host: record.host,
      ...(typeof record.boot === 'string' ? { boot: record.boot } : {}),
      ...(typeof record.start === 'string' ? { start: record.start } : {}),
    };
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  return readIfExists('/proc/sys/kernel/random/boot_id')?.trim();
}

/** Fields 3 and 22 of /proc/PID/stat; the command name before them may hold spaces and parentheses. */
function procStat(pid: number): { state: string; start: string } | undefined {
  const text = readIfExists(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, start] = [fields[0], fields[19]];
  return state !== undefined && start !== undefined ? { state, start } : undefined;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Moved aside before it is looked at, so that two openers taking over one stale lock at
 * once cannot both succeed: the second would otherwise delete the lock the first had just
 * taken. A lock that is not the one expected goes back (a link, which fails if yet
 * another opener holds the lock by now: that one keeps it).
 */
function removeIfUnchanged(lockPath: string, expected: string): void {
  const aside = `${uniqueName(lockPath)}.old`;
  try {
    renameSync(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') !== expected) linkSync(aside, lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(aside);
  }
}

/**
 * A name of this opener's own next to the lock. Not the pid alone: containers sharing a
 * volume are each pid 1, and one opening the other's name (`w` truncates it) would write
 * its record into the lock file the other had just linked from that name.
 */
function uniqueName(lockPath: string): string {
  return `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}`;
}

/** Created, never opened if it exists (`wx`): it could be another opener's, linked as the lock. */
function writeSynced(file: string, text: string): void {
  const fd = openSync(file, 'wx');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
