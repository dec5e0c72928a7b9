import { LineLog } from './file-log.js';
import { decodeResponse, encodeResponse, type EncodedResponse } from './record.js';
import { isExpired, RecordTable, type TableRecord } from './table.js';
import {
  StoreUnavailableError,
  type ClaimRequest,
  type ClaimResult,
  type CompleteRequest,
  type IdempotencyStore,
  type RenewRequest,
  type SettleRequest,
} from './types.js';

export interface FileStoreOptions {
  /** How often expired records are dropped in the background; 0 turns it off. Default 60 s. */
  readonly sweepIntervalMs?: number;
  /** Rewrite the file once it holds this many lines and more than twice the live records. Default 10 000. */
  readonly compactAfterLines?: number;
  /** Clock for sweeping and for dropping expired records when loading. */
  readonly now?: () => number;
}

/** A record as one log line's payload. Short field names: the file holds one per change. */
type EncodedRecord =
  | { readonly s: 'p'; readonly f: string; readonly t: string; readonly n: number; readonly l: number; readonly m: number }
  | { readonly s: 'd'; readonly f: string; readonly n: number; readonly e: number; readonly r: EncodedResponse }
  | { readonly s: 'u'; readonly f: string; readonly t: string; readonly n: number; readonly e: number }
  | { readonly s: 'x'; readonly f: string; readonly n: number; readonly e: number };

/**
 * One line of the log: `r` sets a record, `z` clears all. The older `c` (claim), `d`
 * (done) and `x` (released) lines of files written before execution counts are still read.
 */
type LogEntry =
  | { readonly o: 'r'; readonly k: string; readonly v: EncodedRecord }
  | { readonly o: 'c'; readonly k: string; readonly f: string; readonly t: string; readonly l: number }
  | { readonly o: 'd'; readonly k: string; readonly f: string; readonly e: number; readonly r: EncodedResponse }
  | { readonly o: 'x'; readonly k: string }
  | { readonly o: 'z' };

/**
 * Keys in an append-only JSON-lines file, kept in memory and replayed on start, so keys
 * and their execution counts survive a restart. A claim is written before its handler
 * runs (so a killed process cannot forget it); a completion is also fsynced before its
 * response is sent. One process per file, which is what lets a restart turn every claim
 * still running into `unknown` at once: its holder is surely gone. Use `redisStore` for
 * several instances.
 *
 * @example idempotency({ store: fileStore('./var/idempotency.jsonl') })
 */
export function fileStore(path: string, options: FileStoreOptions = {}): IdempotencyStore {
  const now = options.now ?? Date.now;
  const table = new RecordTable();
  const log = LineLog.open(
    path,
    (line) => applyLine(table, line),
    () => snapshotLines(table, now()),
    () => table.size,
    options.compactAfterLines ?? 10_000,
  );
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const timer =
    sweepIntervalMs > 0
      ? setInterval(() => {
          if (table.sweep(now()) > 0) log.requestCompaction();
        }, sweepIntervalMs)
      : undefined;
  timer?.unref();

  const ensureWritable = (): void => {
    if (log.failure !== undefined) {
      throw new StoreUnavailableError(`file store ${path} cannot be written`, { cause: log.failure });
    }
  };
  const unavailable = (error: unknown): never => {
    throw new StoreUnavailableError(`file store ${path} cannot be written`, { cause: error });
  };
  const line = (key: string, record: TableRecord): string => JSON.stringify({ o: 'r', k: key, v: encodeRecord(record) } satisfies LogEntry);
  /** Written to the kernel before it returns: enough for a killed process, not for a power loss. */
  const write = (key: string, record: TableRecord): void => {
    try {
      log.append(line(key, record), false);
    } catch (error) {
      unavailable(error);
    }
  };
  /** Written, then fdatasynced (in a group with the lines written meanwhile). */
  const writeDurably = async (text: string): Promise<void> => {
    let synced: Promise<void>;
    try {
      synced = log.append(text, true);
    } catch (error) {
      return unavailable(error);
    }
    await synced.catch(unavailable);
  };

  return {
    name: 'file',
    async claim(request: ClaimRequest): Promise<ClaimResult> {
      ensureWritable();
      const { result, record } = table.claim(request);
      // Written (not fsynced) before the handler runs: a killed process must not forget a
      // claim, or its restart would run the handler again.
      if (record !== undefined) write(request.key, record);
      return result;
    },
    async complete(request: CompleteRequest): Promise<boolean> {
      ensureWritable();
      const record = table.complete(request);
      if (record === undefined) return false;
      await writeDurably(line(request.key, record));
      return true;
    },
    async release(request: SettleRequest): Promise<boolean> {
      ensureWritable();
      const record = table.release(request);
      if (record === undefined) return false;
      write(request.key, record);
      return true;
    },
    async markUnknown(request: SettleRequest): Promise<boolean> {
      ensureWritable();
      const record = table.markUnknown(request);
      if (record === undefined) return false;
      await writeDurably(line(request.key, record));
      return true;
    },
    async renew(request: RenewRequest): Promise<boolean> {
      ensureWritable();
      // Renewals stay in memory: after a restart every running claim is unknown anyway.
      return table.renew(request) !== undefined;
    },
    async sweep(at: number): Promise<number> {
      const dropped = table.sweep(at);
      if (dropped > 0) log.requestCompaction();
      return dropped;
    },
    async clear(): Promise<void> {
      ensureWritable();
      table.clear();
      await writeDurably(JSON.stringify({ o: 'z' } satisfies LogEntry));
    },
    async close(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      await log.close();
    },
  };
}

function encodeRecord(record: TableRecord): EncodedRecord {
  switch (record.state) {
    case 'in-progress':
      return { s: 'p', f: record.fingerprint, t: record.token, n: record.executions, l: record.leaseExpiresAt, m: record.retentionMs };
    case 'completed':
      return { s: 'd', f: record.fingerprint, n: record.executions, e: record.expiresAt, r: encodeResponse(record.response) };
    case 'unknown':
      return { s: 'u', f: record.fingerprint, t: record.token, n: record.executions, e: record.expiresAt };
    case 'released':
      return { s: 'x', f: record.fingerprint, n: record.executions, e: record.expiresAt };
  }
}

/**
 * Loading happens in a new process, so a claim that was running is now an unknown
 * outcome: its holder died with the old process. Kept for its retention from its lease end.
 */
function decodeRecord(v: EncodedRecord): TableRecord | undefined {
  switch (v.s) {
    case 'p':
      return { state: 'unknown', fingerprint: v.f, token: v.t, executions: v.n, expiresAt: v.l + v.m };
    case 'd':
      return { state: 'completed', fingerprint: v.f, executions: v.n, expiresAt: v.e, response: decodeResponse(v.r) };
    case 'u':
      return { state: 'unknown', fingerprint: v.f, token: v.t, executions: v.n, expiresAt: v.e };
    case 'x':
      return { state: 'released', fingerprint: v.f, executions: v.n, expiresAt: v.e };
    default:
      return undefined;
  }
}

// Files from before execution counts: a claim there had no retention of its own; a day keeps it unknown long enough.
const LEGACY_RETENTION_MS = 24 * 60 * 60 * 1000;

function applyLine(table: RecordTable, line: string): void {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    // A torn last line from a crash.
    return;
  }
  if (typeof raw !== 'object' || raw === null) return;
  const entry = raw as LogEntry;
  switch (entry.o) {
    case 'r':
      table.put(entry.k, decodeRecord(entry.v));
      return;
    case 'c':
      table.put(entry.k, { state: 'unknown', fingerprint: entry.f, token: entry.t, executions: 1, expiresAt: entry.l + LEGACY_RETENTION_MS });
      return;
    case 'd':
      table.put(entry.k, { state: 'completed', fingerprint: entry.f, executions: 1, expiresAt: entry.e, response: decodeResponse(entry.r) });
      return;
    case 'x':
      table.put(entry.k, undefined);
      return;
    case 'z':
      table.clear();
      return;
    default:
      return;
  }
}

function snapshotLines(table: RecordTable, now: number): string[] {
  const lines: string[] = [];
  for (const [key, record] of table.entries()) {
    if (isExpired(record, now)) continue;
    lines.push(JSON.stringify({ o: 'r', k: key, v: encodeRecord(record) } satisfies LogEntry));
  }
  return lines;
}
