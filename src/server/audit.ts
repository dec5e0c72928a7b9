import type { EventScope, IdempotencyEvent } from './events.js';
import { RunOnceKeys } from './run-once-keys.js';
import { holdsRoute, scopeOfStorageKey } from './storage-key.js';
import type { Rerun } from './stores/types.js';

/** Per storage key: how often its handler ran and how often it was answered otherwise. */
export interface KeyAudit {
  readonly key: string;
  readonly principal?: string;
  readonly method: string;
  readonly route: string;
  /** Runs this process started for the key since start or the last reset. */
  executions: number;
  /**
   * Runs of the key as the store counts them (every claim, in every process, across
   * restarts with the file and Redis stores), as of the last time this process saw it.
   */
  storeExecutions: number;
  replays: number;
  /** Answered 409: the same key was still in flight. */
  conflicts: number;
  /** Answered 422: the same key came with another payload. */
  mismatches: number;
  /** Claims freed because the handler threw or answered 5xx. */
  releases: number;
  /** Runs that started after an earlier run was released. */
  rerunsAfterRelease: number;
  /** Runs that took over a key whose earlier run's outcome was unknown (`recovery: true`). */
  recoveryRuns: number;
  /** Answered 500 `outcome-unknown` (or cut off after their headers, when the run's outcome became unknown). */
  unknownOutcomes: number;
  lastStatus?: number;
}

export interface AuditTotals {
  requests: number;
  executions: number;
  replays: number;
  conflicts: number;
  mismatches: number;
  releases: number;
  /** Requests refused before their claim: 400 and 413 (key missing or malformed, body too large or too deep), 500 `body-consumed`. */
  rejected: number;
  storeErrors: number;
  /** Runs of a key whose earlier run was released (it threw or answered 5xx before any effect). */
  rerunsAfterRelease: number;
  /**
   * Runs of a key whose earlier run's outcome was unknown: each repeats an effect unless
   * the handler deduplicates by key. Always 0 without `recovery: true`.
   */
  recoveryRuns: number;
  /** Requests told their outcome is unknown: answered 500 `outcome-unknown`, or cut off after their headers went out. */
  unknownOutcomes: number;
}

export interface AuditSnapshot {
  readonly totals: AuditTotals;
  readonly keys: readonly KeyAudit[];
}

const emptyTotals = (): AuditTotals => ({
  requests: 0,
  executions: 0,
  replays: 0,
  conflicts: 0,
  mismatches: 0,
  releases: 0,
  rejected: 0,
  storeErrors: 0,
  rerunsAfterRelease: 0,
  recoveryRuns: 0,
  unknownOutcomes: 0,
});

/**
 * Counters of one middleware instance (one process), fed by its events. It sees what
 * the middleware does, not what the handler's effects are: the proof that an intent took
 * effect once is counted where the effect happens (the chaos suite counts at its origin).
 * Per-key records are capped, oldest dropped first, so a flood of distinct keys cannot
 * grow memory without bound.
 */
export class Audit {
  #totals = emptyTotals();
  /**
   * A key that ran once here, with nothing else to count, is kept as a number until anything
   * else happens to it: its place in `#order`, where `#runOnce` holds the store's count and
   * its status. Most keys never get more, and a record object per key, kept for as long as
   * `maxKeys` allow, was a third of what a request left on the heap. Most such keys are not
   * here at all but in `#offHeap` (their text off the heap); this Map has the rest.
   */
  readonly #keys = new Map<string, KeyAudit | number>();
  /** The run-once keys whose text fits off the heap, by place. */
  readonly #offHeap = new RunOnceKeys();
  /**
   * The keys in the order their records were made, as a ring once full (`null` at a place
   * whose key is in `#offHeap`). The Map knows that order too, but finding its first key
   * walks over every entry deleted before it, which made each new key cost more the longer
   * the process ran.
   */
  #order: (string | null)[] = [];
  /**
   * Per place in `#order`, while its key is a run-once number: the store's count and the
   * status it completed with (`runOnce`); `EXPANDED` once the key has a record object. The
   * completion writes here, at the place `executed` returned, instead of the Map.
   */
  #runOnce: number[] = [];
  #oldest = 0;
  /**
   * Places taken since construction, and as of the last reset: take number `n` (counted
   * from construction) got place `(n - #takenAtReset) % maxKeys`, and that place is taken
   * again by take `n + maxKeys`. So `executed` hands out the take number, and `completed`
   * knows its place still holds the key by arithmetic, without comparing the key's text
   * (about 60 characters a request, off the heap).
   */
  #taken = 0;
  #takenAtReset = 0;

  constructor(private readonly maxKeys: number) {}

  /** Counts any event; the request path calls the methods below directly, without building the event. */
  record(storageKey: string | undefined, event: IdempotencyEvent): void {
    const totals = this.#totals;
    switch (event.type) {
      case 'rejected':
        totals.rejected++;
        return;
      case 'store-error':
        totals.storeErrors++;
        return;
      default:
        break;
    }
    if (storageKey === undefined || event.key === undefined) return;
    switch (event.type) {
      case 'executed':
        this.executed(storageKey, event, event.executions, event.rerun);
        break;
      case 'replayed':
        this.replayed(storageKey, event, event.status, event.executions);
        break;
      case 'completed':
        this.completed(storageKey, event, event.status, -1);
        break;
      case 'conflict':
        totals.conflicts++;
        this.#entry(storageKey, event).conflicts++;
        break;
      case 'mismatch':
        totals.mismatches++;
        this.#entry(storageKey, event).mismatches++;
        break;
      case 'released':
        totals.releases++;
        this.#entry(storageKey, event).releases++;
        break;
      case 'outcome-unknown': {
        totals.unknownOutcomes++;
        const entry = this.#entry(storageKey, event);
        entry.unknownOutcomes++;
        if (event.executions !== undefined) entry.storeExecutions = event.executions;
        break;
      }
      default:
        this.#entry(storageKey, event);
        break;
    }
  }

  /**
   * A run started; `executions` is the store's count for the key, this run included.
   * Returns where its completion may be recorded (`completed`'s `ticket`), or -1.
   */
  executed(storageKey: string, scope: EventScope, executions: number, rerun: Rerun): number {
    const totals = this.#totals;
    totals.executions++;
    // A key kept as a number has its scope read back from its text: an st2 token's key holds
    // no method or route, so it gets a record object.
    if (rerun === 'none' && executions <= MAX_RUN_ONCE_COUNT && holdsRoute(storageKey)) {
      const offHeap = this.#offHeap;
      const hash = offHeap.hashOf(storageKey);
      if (offHeap.find(storageKey, hash) < 0 && !this.#keys.has(storageKey)) {
        const place = this.#take(runOnce(executions, 0));
        const ticket = this.#taken - 1;
        if (offHeap.add(place, storageKey, hash)) return ticket;
        this.#order[place] = storageKey;
        this.#keys.set(storageKey, place);
        return ticket;
      }
    }
    const entry = this.#entry(storageKey, scope);
    entry.executions++;
    entry.storeExecutions = executions;
    if (rerun === 'after-release') {
      totals.rerunsAfterRelease++;
      entry.rerunsAfterRelease++;
    } else if (rerun === 'recovery') {
      totals.recoveryRuns++;
      entry.recoveryRuns++;
    }
    return -1;
  }

  replayed(storageKey: string, scope: EventScope, status: number, executions: number): void {
    this.#totals.replays++;
    const entry = this.#entry(storageKey, scope);
    entry.replays++;
    entry.storeExecutions = executions;
    entry.lastStatus = status;
  }

  /** The run's answer was stored; `ticket` is what `executed` returned for it (-1: none). */
  completed(storageKey: string, scope: EventScope, status: number, ticket: number): void {
    if (!isStatus(status)) {
      this.#entry(storageKey, scope).lastStatus = status;
      return;
    }
    // No take since reused the ticket's place: it still holds this key, and as a number
    // unless something expanded it. No lookup.
    if (ticket >= this.#takenAtReset && this.#taken - ticket <= this.maxKeys) {
      const place = (ticket - this.#takenAtReset) % this.maxKeys;
      if (this.#runOnce[place] !== EXPANDED) {
        this.#runOnce[place] = runOnce(storeExecutionsOf(this.#runOnce[place]!), status);
        return;
      }
    }
    const entry = this.#runOnceOf(storageKey);
    if (entry >= 0) this.#runOnce[entry] = runOnce(storeExecutionsOf(this.#runOnce[entry]!), status);
    else this.#entry(storageKey, scope).lastStatus = status;
  }

  countRequest(): void {
    this.#totals.requests++;
  }

  snapshot(): AuditSnapshot {
    const keys: KeyAudit[] = [];
    const order = this.#order;
    // Oldest first: the order the records were made in.
    for (let i = 0; i < order.length; i++) {
      const place = (this.#oldest + i) % order.length;
      const storageKey = order[place];
      const entry = storageKey === null ? place : this.#keys.get(storageKey!)!;
      keys.push(typeof entry === 'number' ? expand(this.#runOnce[entry]!, scopeOfStorageKey(storageKey ?? this.#offHeap.keyAt(place))) : { ...entry });
    }
    return { totals: { ...this.#totals }, keys };
  }

  reset(): void {
    this.#totals = emptyTotals();
    this.#keys.clear();
    this.#offHeap.clear();
    this.#order = [];
    this.#runOnce = [];
    this.#oldest = 0;
    this.#takenAtReset = this.#taken;
  }

  /**
   * The place of the newest key, dropping the oldest record once over the cap; `#order`
   * holds `null` there until the caller puts the key in the Map.
   */
  #take(runOnceValue: number): number {
    this.#taken++;
    if (this.#order.length < this.maxKeys) {
      this.#runOnce.push(runOnceValue);
      return this.#order.push(null) - 1;
    }
    const place = this.#oldest;
    const dropped = this.#order[place]!;
    if (dropped === null) this.#offHeap.drop(place);
    else this.#keys.delete(dropped);
    this.#order[place] = null;
    this.#runOnce[place] = runOnceValue;
    this.#oldest = (place + 1) % this.maxKeys;
    return place;
  }

  /** The place of `storageKey` while it is a run-once number, else -1. */
  #runOnceOf(storageKey: string): number {
    const entry = this.#keys.get(storageKey);
    if (entry !== undefined) return typeof entry === 'number' ? entry : -1;
    return this.#offHeap.find(storageKey, this.#offHeap.hashOf(storageKey));
  }

  /** The key's record as an object, made (or expanded from its number) on first need. */
  #entry(storageKey: string, scope: EventScope): KeyAudit {
    const entry = this.#keys.get(storageKey);
    if (typeof entry === 'object') return entry;
    const place = entry ?? this.#offHeap.find(storageKey, this.#offHeap.hashOf(storageKey));
    let made: KeyAudit;
    if (place < 0) {
      made = newEntry(scope);
      this.#order[this.#take(EXPANDED)] = storageKey;
    } else {
      // An expanded key keeps its place in the order.
      made = expand(this.#runOnce[place]!, scope);
      this.#runOnce[place] = EXPANDED;
      this.#offHeap.drop(place);
      this.#order[place] = storageKey;
    }
    this.#keys.set(storageKey, made);
    return made;
  }
}

/**
 * A key's record while it only ran once, in this process: the store's count for it and the
 * status it completed with (0 before it completes), as one small integer (an array keeps
 * it without an object of its own).
 */
const runOnce = (storeExecutions: number, status: number): number => storeExecutions * STATUS_SPAN + status;
const STATUS_SPAN = 1000;
/** In `#runOnce`: the key at this place has a record object. */
const EXPANDED = -1;
const storeExecutionsOf = (entry: number): number => Math.floor(entry / STATUS_SPAN);
// Keeps the number a small integer (V8's Smi, 31 bits at least), stored in the Map as is.
const MAX_RUN_ONCE_COUNT = Math.floor(0x3fff_ffff / STATUS_SPAN) - 1;
const isStatus = (status: number): boolean => Number.isInteger(status) && status > 0 && status < STATUS_SPAN;

function expand(entry: number, scope: EventScope): KeyAudit {
  const record = newEntry(scope);
  record.executions = 1;
  record.storeExecutions = storeExecutionsOf(entry);
  const status = entry % STATUS_SPAN;
  if (status !== 0) record.lastStatus = status;
  return record;
}

function newEntry(scope: EventScope): KeyAudit {
  const entry: KeyAudit = {
    key: scope.key ?? '',
    method: scope.method,
    route: scope.route,
    executions: 0,
    storeExecutions: 0,
    replays: 0,
    conflicts: 0,
    mismatches: 0,
    releases: 0,
    rerunsAfterRelease: 0,
    recoveryRuns: 0,
    unknownOutcomes: 0,
  };
  return scope.principal === undefined ? entry : { ...entry, principal: scope.principal };
}
