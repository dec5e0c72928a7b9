import { readlinkSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkNumber, InvalidOptionsError, MAX_TIMER_MS } from '../invalid-options-error.js';
import { LineLog } from './file-log.js';
import { applyLine, CLEAR_LINE, recordLine } from './file-line.js';
import { isExpired, RecordTable, sweepAt, type TableRecord } from './table.js';
import {
  StoreUnavailableError,
  type ClaimRequest,
  type ClaimResult,
  type CompleteRequest,
  type IdempotencyStore,
  type RenewRequest,
  type SettleRequest,
  type SyncClaimOperations,
} from './types.js';

export interface FileStoreOptions {
  /** How often expired records are dropped in the background; 0 turns it off. Default 60 s. */
  readonly sweepIntervalMs?: number;
  /** Rewrite the file once it holds this many lines and more than twice the live records. Default 10 000. */
  readonly compactAfterLines?: number;
  /**
   * Bytes of zeros kept after the last line, added this many at a time when they run out:
   * a line is written into them, so a completion's `fdatasync` flushes only data instead
   * of also committing the file system's journal for a new file size (about a third less
   * system CPU a sync on ext4). The file is that much larger than its lines; loading ends
   * it at the first NUL byte. 0 appends instead. Zeros a full disk has no room for are
   * left out (lines then extend the file) until the file is next rewritten. Default 1 MiB.
   */
  readonly preallocateBytes?: number;
  /** Clock for sweeping, for dropping expired records when loading, and for spacing the tries after a full disk. */
  readonly now?: () => number;
  /**
   * `relaxed` (default): a claim is written to the kernel (the page cache) before its
   * handler runs, and answered at once (`sync`): a killed process keeps it, a power loss or
   * an OS crash can lose it, and the retry then runs the handler again. `strict`: a claim is
   * also `fdatasync`ed before `claim` resolves, sharing its sync with the claims and
   * completions of the same turn, so a handler never runs on a claim a power loss can
   * lose; every claim then waits for a sync, and the store offers no `sync`.
   */
  readonly durability?: FileStoreDurability;
}

export type FileStoreDurability = 'relaxed' | 'strict';

/**
 * Keys in an append-only JSON-lines file, kept in memory and replayed on start, so keys
 * and their execution counts survive a restart. A claim is written before its handler
 * runs (so a killed process cannot forget it); a completion is also fsynced before its
 * response is sent, and before a duplicate's claim is answered from it. One process per file, which is what lets a restart turn every claim
 * still running into `unknown` at once: its holder is surely gone. A lock file
 * (`${path}.lock`) enforces it: opening a file another instance holds, in this process or
 * another, throws `StoreLockedError` before the file is touched; a lock whose process is
 * gone (a crash) is taken over; `close` removes it. Use `redisStore` for several instances.
 *
 * A write that fails fails every call after it (503): memory may be ahead of the file. If
 * the disk or quota was full (ENOSPC, EDQUOT), a call at most once a second, and nine
 * times as long as the last try took after it, tries what a restart does instead: reread
 * the file, rebuild the memory from it, rewrite it compacted. The claims of handlers
 * still running are kept as they are (their claim lines are in the file), so neither a
 * duplicate nor a recovering claim runs them again; any other claim whose line is in the
 * file but whose completion is not turns `unknown`.
 * Any other error (EIO, a failed fdatasync, a file that reads back shorter than what was
 * written to it) needs a restart.
 *
 * @example idempotency({ store: fileStore('./var/idempotency.jsonl') })
 */
export function fileStore(path: string, options: FileStoreOptions = {}): IdempotencyStore {
  const now = options.now ?? Date.now;
  let table = new RecordTable();
  const loadedAt = now();
  // Checked before the file is opened and locked: a refused option leaves no lock behind.
  const sweepIntervalMs = checkNumber('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 0, true, MAX_TIMER_MS);
  const compactAfterLines = checkNumber('compactAfterLines', options.compactAfterLines ?? 10_000, 1, true, Number.MAX_SAFE_INTEGER);
  const preallocateBytes = Math.floor(checkNumber('preallocateBytes', options.preallocateBytes ?? 1024 * 1024, 0, true, Number.MAX_SAFE_INTEGER));
  const durability = options.durability ?? 'relaxed';
  if (durability !== 'relaxed' && durability !== 'strict') throw new InvalidOptionsError('durability', `expected 'relaxed' or 'strict', got ${JSON.stringify(durability) ?? String(durability)}`);
  const strict = durability === 'strict';
  const log = LineLog.open(
    logFile(path),
    (line) => applyLine(table, line, loadedAt),
    () => snapshotLines(table, now()),
    () => table.size,
    compactAfterLines,
    preallocateBytes,
  );
  const timer =
    sweepIntervalMs > 0
      ? setInterval(() => {
          if (sweepAt(table, now()) > 0) log.compactIfLarge();
        }, sweepIntervalMs)
      : undefined;
  timer?.unref();

  const unavailableError = (error: unknown): StoreUnavailableError =>
    new StoreUnavailableError(`file store ${path} cannot be written`, { cause: error });
  /** When the next try to get past a failure may start: the calls before it answer 503 without touching the disk. */
  let nextReopen = -Infinity;
  /** When the last try started: a clock earlier than that was set back. */
  let lastReopen = -Infinity;
  /**
   * As a restart, minus killing the handlers in flight: a claim still running in memory,
   * its line in the file (read back as `unknown`, same token), keeps running under its
   * holder. A claim whose line is not in the file was refused (its write failed), so its
   * handler never ran; a completion not in the file leaves its key `unknown`.
   */
  const reopen = (): void => {
    const at = now();
    const fresh = new RecordTable();
    log.reopen(
      (line) => applyLine(fresh, line, at),
      () => {
        for (const [key, record] of table.entries()) {
          if (record.state !== 'in-progress') continue;
          const loaded = fresh.get(key);
          if (loaded?.state === 'unknown' && loaded.token === record.token) fresh.put(key, record);
        }
        table = fresh;
      },
    );
  };
  const recovered = (): boolean => {
    if (!log.reopenable) return false;
    const at = now();
    if (at < nextReopen && at >= lastReopen) return false;
    lastReopen = at;
    try {
      reopen();
      return true;
    } catch {
      return false;
    } finally {
      // Counted from the end, and longer after a long try: one over a large file (seconds,
      // on the event loop) a second apart from its start left no time for anything else
      // while the disk stayed full.
      const end = now();
      nextReopen = end + Math.max(REOPEN_EVERY_MS, REOPEN_SPACING * (end - at));
    }
  };
  const ensureWritable = (): void => {
    if (log.failure !== undefined && !recovered()) throw unavailableError(log.failure);
  };
  const unavailable = (error: unknown): never => {
    throw unavailableError(error);
  };
  /** Written to the kernel before it returns: enough for a killed process, not for a power loss. */
  const write = (key: string, record: TableRecord): void => {
    try {
      log.append(recordLine(key, record), false);
    } catch (error) {
      unavailable(error);
    }
  };
  /**
   * Written just before its group's fdatasync (with the lines appended meanwhile), then
   * synced. Every durable line of one group gets the same promise: a turn's completions
   * all wait on one, instead of a promise (and an async function's) each.
   */
  let group: { readonly done: Promise<void>; readonly stored: Promise<boolean>; readonly completed: string[] } | undefined;
  /**
   * Keys completed in memory whose group's fdatasync has not settled, with that group's
   * promise. A claim of one is not answered until it has: a `completed` told to a
   * duplicate before then (a replayed 201) could be undone by a power loss, after which
   * the key answers `unknown`, or with `recover` runs again.
   */
  const unsynced = new Map<string, Promise<boolean>>();
  const writeDurably = (text: string, completedKey?: string): Promise<boolean> => {
    let done: Promise<void>;
    try {
      done = log.append(text, true);
    } catch (error) {
      return Promise.reject(unavailableError(error));
    }
    if (group?.done !== done) {
      const begun = (group = { done, stored: done.then(stored, unavailable), completed: [] });
      // Registered first, so it runs before any claim waiting on the same promise looks again.
      const settled = (): void => {
        for (const key of begun.completed) if (unsynced.get(key) === begun.stored) unsynced.delete(key);
      };
      begun.stored.then(settled, settled);
    }
    if (completedKey !== undefined) {
      group.completed.push(completedKey);
      unsynced.set(completedKey, group.stored);
    }
    return group.stored;
  };
  /** A promise, not a throw: `complete` and `markUnknown` are not `async`, so as to hand back the group's promise itself. */
  const failed = (): Promise<never> => Promise.reject(unavailableError(log.failure));

  /** Undefined for a key whose completion is not yet synced: `claim` waits for that. */
  const claimInMemory = (request: ClaimRequest): ReturnType<RecordTable['claim']> | undefined => {
    if (unsynced.size !== 0 && unsynced.has(request.key)) return undefined;
    ensureWritable();
    return table.claim(request);
  };
  /**
   * Written (not fsynced) before it returns, so before the handler runs: a killed process
   * must not forget a claim, or its restart would run the handler again. Answered at once
   * (`sync`, relaxed only); the completion cannot be, as it waits for its `fdatasync`.
   */
  const claimNow = (request: ClaimRequest): ClaimResult | undefined => {
    const claimed = claimInMemory(request);
    if (claimed?.record !== undefined) write(request.key, claimed.record);
    return claimed?.result;
  };
  const claim = async (request: ClaimRequest): Promise<ClaimResult> => {
    let claimed = claimInMemory(request);
    while (claimed === undefined) {
      // Settled either way: a failed sync is then answered by the store's failure rules (503).
      await unsynced.get(request.key)?.catch(() => undefined);
      claimed = claimInMemory(request);
    }
    const { result, record } = claimed;
    if (record === undefined) return result;
    // Strict: held, written and synced with the turn's other lines; a failed sync rejects (503), so the handler never runs.
    if (strict) await writeDurably(recordLine(request.key, record));
    else write(request.key, record);
    return result;
  };

  const store: IdempotencyStore = {
    name: 'file',
    claim,
    complete(request: CompleteRequest): Promise<boolean> {
      if (log.failure !== undefined && !recovered()) return failed();
      let record: TableRecord | undefined;
      try {
        record = table.complete(request);
      } catch (error) {
        // A `now` refused: a rejection, as every other failure of this promise-returning step.
        return Promise.reject(error);
      }
      return record === undefined ? notStored : writeDurably(recordLine(request.key, record), request.key);
    },
    async release(request: SettleRequest): Promise<boolean> {
      ensureWritable();
      const record = table.release(request);
      if (record === undefined) return false;
      write(request.key, record);
      return true;
    },
    markUnknown(request: SettleRequest): Promise<boolean> {
      if (log.failure !== undefined && !recovered()) return failed();
      let record: TableRecord | undefined;
      try {
        record = table.markUnknown(request);
      } catch (error) {
        return Promise.reject(error);
      }
      return record === undefined ? notStored : writeDurably(recordLine(request.key, record));
    },
    async renew(request: RenewRequest): Promise<boolean> {
      // Renewals stay in memory: after a restart every running claim is unknown anyway. So a
      // full disk need not stop them: a running claim keeps its lease through a reopen.
      if (!log.recoverable) ensureWritable();
      return table.renew(request) !== undefined;
    },
    async sweep(at: number): Promise<number> {
      const dropped = table.sweep(at);
      if (dropped > 0) log.compactIfLarge();
      return dropped;
    },
    async clear(): Promise<void> {
      ensureWritable();
      table.clear();
      await writeDurably(CLEAR_LINE);
    },
    async close(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      await log.close();
    },
  };
  // Not enumerable, as the memory store's: a wrapper made by spreading the store calls its own `claim`.
  // Strict: a claim must wait for its sync, so none is answered at once.
  if (!strict) Object.defineProperty(store, 'sync', { value: { claim: claimNow } satisfies SyncClaimOperations });
  return store;
}

/**
 * The file `path` names, links followed: compaction renames a new file into place, which
 * over a link would replace the link (a data volume's file linked into the app's
 * directory) with a file of its own directory, leaving the volume's file behind; and the
 * lock, named after the path, would not stop a second store opened under the other name.
 */
function logFile(path: string): string {
  if (typeof path !== 'string' || path === '') throw new InvalidOptionsError('path', `expected the path of the log file, got ${JSON.stringify(path) ?? String(path)}`);
  let file = path;
  // As the kernel's limit on links followed in one lookup (ELOOP).
  for (let links = 0; links <= 40; links++) {
    let target: string;
    try {
      target = readlinkSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EINVAL: not a link; ENOENT: no file yet (created at open).
      if (code !== 'EINVAL' && code !== 'ENOENT') throw error;
      if (code === 'EINVAL' && statSync(file).isDirectory()) throw new InvalidOptionsError('path', `${path} is a directory: expected the path of the log file in it`);
      return file;
    }
    file = resolve(dirname(file), target);
  }
  throw new InvalidOptionsError('path', `${path}: too many levels of symbolic links`);
}

/** Tries to get past a full disk at most this often: a failed try rereads the file and writes it again. */
const REOPEN_EVERY_MS = 1_000;
/** And no sooner after a try than this many times its duration: tries take at most a tenth of the event loop. */
const REOPEN_SPACING = 9;

const stored = (): boolean => true;
const notStored = Promise.resolve(false);

/** A line at a time: the live records' lines may be more text than one string holds. */
function* snapshotLines(table: RecordTable, now: number): IterableIterator<string> {
  for (const [key, record] of table.entries()) {
    if (!isExpired(record, now)) yield recordLine(key, record);
  }
}
