/**
 * The life of an intent's key record, as pure transitions (claim, keep, settle, abort):
 * the one place that decides which key an intent uses and what becomes of it. The
 * submitter only writes what these return (STYLE 8, like the observer's reducer).
 */
import type { KeyRecord } from './store.js';

/** The record's clocks (how long an unfinished key lives, how long a settled one is reused) and its key source. */
export interface RecordPolicy {
  ttl: number;
  settleWindow: number;
  createKey: () => string;
}

/** Where a claimed key came from, for the events. */
export type KeySource = 'caller' | 'store' | 'new';

/** True while a submission of the record's intent must reuse its key. */
export function isLive(record: KeyRecord | undefined, now: number, policy: RecordPolicy): boolean {
  if (!record || record.expiresAt <= now) return false;
  if (record.state !== 'settled') return true;
  // Inside the settle window a settled key is reused: the server replays its answer.
  return (record.settledAt ?? 0) + policy.settleWindow > now;
}

/**
 * The record an attempt is sent under, from the stored one: the caller's key wins (the
 * stored record is kept only if it is that key); else a live stored key is reused (a
 * retry, a reload, a second tab); else a new key. Always `pending`: written ahead of the send.
 */
export function claim(
  stored: KeyRecord | undefined,
  fingerprint: string,
  now: number,
  explicitKey: string | undefined,
  policy: RecordPolicy,
): { record: KeyRecord; source: KeySource } {
  if (explicitKey !== undefined) {
    const same = stored?.key === explicitKey && stored.expiresAt > now;
    return { record: same ? { ...stored, state: 'pending' } : fresh(explicitKey, fingerprint, now, policy), source: 'caller' };
  }
  if (stored && isLive(stored, now, policy)) return { record: { ...stored, state: 'pending' }, source: 'store' };
  return { record: fresh(policy.createKey(), fingerprint, now, policy), source: 'new' };
}

/** No final answer (retries spent, a 5xx left): the next try, or a reload, must reuse the key. */
export function keep(record: KeyRecord, attempts: number): KeyRecord {
  return { ...record, attempts: record.attempts + attempts, state: 'ambiguous' };
}

/** A final answer: the key is reused only inside the settle window, then retired. */
export function settle(record: KeyRecord, attempts: number, now: number): KeyRecord {
  return { ...record, attempts: record.attempts + attempts, state: 'settled', settledAt: now };
}

/** The caller aborted: an attempt may be on the wire, so the key is kept like an ambiguous one. */
export const abort: (record: KeyRecord, attempts: number) => KeyRecord = keep;

function fresh(key: string, fingerprint: string, now: number, policy: Pick<RecordPolicy, 'ttl'>): KeyRecord {
  return { v: 1, key, fingerprint, createdAt: now, expiresAt: now + policy.ttl, attempts: 0, state: 'pending' };
}
