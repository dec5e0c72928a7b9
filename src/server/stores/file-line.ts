import { decodeResponse, encodeResponseJson, jsonNumber, type EncodedResponse } from './record.js';
import type { RecordTable, TableRecord } from './table.js';

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

export const CLEAR_LINE = '{"o":"z"}';

/**
 * The `r` line of a record: the text `JSON.stringify` makes of its `LogEntry`, written
 * out directly, so files written either way load alike. Every claim and completion writes
 * one, and building the entry object first and serialising it took about a quarter
 * longer per line (Node 20). Strings still go through `JSON.stringify`, for their escapes.
 */
export function recordLine(key: string, record: TableRecord): string {
  const head = `{"o":"r","k":${JSON.stringify(key)},"v":{"s":`;
  const f = JSON.stringify(record.fingerprint);
  const n = jsonNumber(record.executions);
  switch (record.state) {
    case 'in-progress':
      return `${head}"p","f":${f},"t":${JSON.stringify(record.token)},"n":${n},"l":${jsonNumber(record.leaseExpiresAt)},"m":${jsonNumber(record.retentionMs)}}}`;
    case 'completed':
      return `${head}"d","f":${f},"n":${n},"e":${jsonNumber(record.expiresAt)},"r":${encodeResponseJson(record.response)}}}`;
    case 'unknown':
      return `${head}"u","f":${f},"t":${JSON.stringify(record.token)},"n":${n},"e":${jsonNumber(record.expiresAt)}}}`;
    case 'released':
      return `${head}"x","f":${f},"n":${n},"e":${jsonNumber(record.expiresAt)}}}`;
  }
}

/**
 * Applies one line to the table; a line that does not parse (a torn last line from a crash)
 * is skipped. `loadedAt`: when the file is being loaded (see `decodeRecord`).
 */
export function applyLine(table: RecordTable, line: string, loadedAt: number): void {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof raw !== 'object' || raw === null) return;
  const entry = raw as LogEntry;
  switch (entry.o) {
    case 'r':
      table.put(entry.k, decodeRecord(entry.v, loadedAt));
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

// Files from before execution counts: a claim there had no retention of its own; a day keeps it unknown long enough.
const LEGACY_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Loading happens in a new process, so a claim that was running is now an unknown
 * outcome: its holder died with the old process. Kept for its retention from the load at
 * the earliest: renewals are not written, so its holder may have run long past the lease
 * in the line, and counting from that lease could drop (free) the key before its
 * retention after the run ended, for a retry to run it again.
 */
function decodeRecord(v: EncodedRecord, loadedAt: number): TableRecord | undefined {
  switch (v.s) {
    case 'p':
      return { state: 'unknown', fingerprint: v.f, token: v.t, executions: v.n, expiresAt: Math.max(v.l, loadedAt) + v.m };
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
