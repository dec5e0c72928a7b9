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
  // Inside the settle window a settled key is reused: the server replays its answer. On
  // either side of the answer: a wall clock set back an hour must not make it an hour long.
  return Math.abs(now - (record.settledAt ?? 0)) < policy.settleWindow;
}

/** Who claims: this engine's owner id (none where tabs cannot coordinate) and an owner found gone. */
export interface Claimant {
  owner?: string | undefined;
  /** The owner of a busy claim that has since gone (tab closed, reloaded) or let go: take its claim over. */
  takeOverFrom?: string | undefined;
}

/**
 * The record an attempt is sent under, from the stored one: the caller's key wins (the
 * stored record is kept only if it is that key); else a live stored key is reused (a
 * retry, a reload, a second tab); else a new key. Always `pending` and owned by the
 * claimant: written ahead of the send. `busy` when another engine's attempt is in flight
 * under the stored record: it is left as is, and the claimant waits for that outcome.
 */
export function claim(
  stored: KeyRecord | undefined,
  fingerprint: string,
  now: number,
  explicitKey: string | undefined,
  policy: RecordPolicy,
  { owner, takeOverFrom }: Claimant = {},
): { record: KeyRecord; source: KeySource; busy?: true } {
  const reuse = explicitKey === undefined ? isLive(stored, now, policy) : stored?.key === explicitKey && stored.expiresAt > now;
  const source: KeySource = explicitKey === undefined ? (reuse ? 'store' : 'new') : 'caller';
  const other = stored?.owner;
  // A tab that cannot coordinate itself (no owner id) sends with the same key: the server replays.
  if (reuse && stored!.state === 'pending' && owner && other && other !== owner && other !== takeOverFrom) {
    return { record: stored!, source, busy: true };
  }
  const base = reuse ? stored! : fresh(explicitKey ?? policy.createKey(), fingerprint, now, policy);
  return { record: { ...base, state: 'pending', owner }, source };
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

/**
 * What a page that carried on in memory writes to the store once it answers again, for an
 * intent it decided meanwhile: `held` (null: memory dropped it), last under `key`, over the
 * stored `current`. Only what a reload must find: an unfinished key where the store has no
 * live one, the fate (settled, dropped) of a key it holds, and a final answer over another
 * key left unfinished; never over another engine's attempt in flight or another key's
 * settle (another tab decided since), nor a settled key back to unfinished.
 */
export function writeBehind(held: KeyRecord | null, key: string, current: KeyRecord | undefined, now: number, policy: RecordPolicy): KeyRecord | null | undefined {
  const inFlight = current?.state === 'pending' && current.owner !== undefined && current.owner !== held?.owner;
  if (current?.key !== key) {
    // The intent's final answer retires the key an earlier page left unfinished, as a retry
    // under that key would have with storage working: kept, a later new order of the same
    // cart went out under it and was answered the old order's replay.
    if (held?.state === 'settled') return inFlight || current?.state === 'settled' ? undefined : held;
    return held && isLive(held, now, policy) && !isLive(current, now, policy) ? held : undefined;
  }
  if (inFlight || (current.state === 'settled' && held?.state !== 'settled')) return undefined;
  return held;
}
