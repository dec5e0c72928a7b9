import { JsonLinesLog } from './file-log.js';
import { decodeResponse, encodeResponse, type EncodedResponse } from './record.js';
import { isExpired, RecordTable, type TableRecord } from './table.js';
import {
  StoreUnavailableError,
  type ClaimRequest,
  type ClaimResult,
  type CompleteRequest,
  type IdempotencyStore,
  type RenewRequest,
} from './types.js';

export interface FileStoreOptions {
  /** How often expired records are dropped in the background; 0 turns it off. Default 60 s. */
  readonly sweepIntervalMs?: number;
  /** Rewrite the file once it holds this many lines and more than twice the live records. Default 10 000. */
  readonly compactAfterLines?: number;
  /** Clock for sweeping and for dropping expired records when loading. */
  readonly now?: () => number;
}

/** One line of the log. Short field names: the file holds one per claim and completion. */
type LogEntry =
  | { readonly o: 'c'; readonly k: string; readonly f: string; readonly t: string; readonly l: number }
  | { readonly o: 'd'; readonly k: string; readonly f: string; readonly e: number; readonly r: EncodedResponse }
  | { readonly o: 'x'; readonly k: string }
  | { readonly o: 'z' };

/**
 * Keys in an append-only JSON-lines file, kept in memory and replayed on start, so
 * completed keys survive a restart. A completion is fsynced before its response is sent;
 * claims are written without waiting (after a crash they only hold the key until their
 * lease ends). One process per file: use `redisStore` for several instances.
 *
 * @example idempotency({ store: fileStore('./var/idempotency.jsonl') })
 */
export function fileStore(path: string, options: FileStoreOptions = {}): IdempotencyStore {
  const now = options.now ?? Date.now;
  const table = new RecordTable();
  const log = JsonLinesLog.open(
    path,
    (entry) => applyEntry(table, entry),
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

  return {
    name: 'file',
    async claim(request: ClaimRequest): Promise<ClaimResult> {
      ensureWritable();
      const result = table.claim(request);
      if (result.status === 'claimed') {
        const entry: LogEntry = { o: 'c', k: request.key, f: request.fingerprint, t: result.token, l: request.now + request.leaseMs };
        // Not awaited: a lost claim line only frees the key early after a crash.
        log.append(entry, false).catch(() => undefined);
      }
      return result;
    },
    async complete(request: CompleteRequest): Promise<boolean> {
      ensureWritable();
      const record = table.complete(request);
      if (record?.state !== 'completed') return false;
      await log.append(completedEntry(request.key, record), true).catch(unavailable);
      return true;
    },
    async release(key: string, token: string): Promise<void> {
      ensureWritable();
      if (table.release(key, token)) log.append({ o: 'x', k: key } satisfies LogEntry, false).catch(() => undefined);
    },
    async renew(request: RenewRequest): Promise<boolean> {
      ensureWritable();
      // Renewals stay in memory: after a restart the holder is gone anyway.
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
      await log.append({ o: 'z' } satisfies LogEntry, true).catch(unavailable);
    },
    async close(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      await log.close();
    },
  };
}

function completedEntry(key: string, record: TableRecord & { state: 'completed' }): LogEntry {
  return { o: 'd', k: key, f: record.fingerprint, e: record.expiresAt, r: encodeResponse(record.response) };
}

function applyEntry(table: RecordTable, raw: unknown): void {
  if (typeof raw !== 'object' || raw === null) return;
  const entry = raw as LogEntry;
  switch (entry.o) {
    case 'c':
      table.put(entry.k, { state: 'in-progress', fingerprint: entry.f, token: entry.t, leaseExpiresAt: entry.l });
      return;
    case 'd':
      table.put(entry.k, { state: 'completed', fingerprint: entry.f, expiresAt: entry.e, response: decodeResponse(entry.r) });
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
    const entry: LogEntry =
      record.state === 'completed'
        ? completedEntry(key, record)
        : { o: 'c', k: key, f: record.fingerprint, t: record.token, l: record.leaseExpiresAt };
    lines.push(JSON.stringify(entry));
  }
  return lines;
}
