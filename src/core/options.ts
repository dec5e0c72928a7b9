/** Submitter defaults and option normalisation, in one place. */
import { defaultClassifier, type Classifier, type KeyReusedMatch } from './classify.js';
import { InvalidOptionsError } from './errors.js';
import type { SubmitEventListener } from './events.js';
import { takeKey } from './key.js';
import { normaliseRetry, type RetryInput, type RetryOptions } from './retry.js';
import type { KeyStore } from './store.js';
import type { Durability } from './indexeddb-store.js';
import type { OutboxPort } from './outbox-port.js';

/**
 * The part of `navigator.locks` used across tabs: each tab holds one lock for its life, and
 * a tab waiting on another's claim requests that lock to learn when the owner is gone.
 */
export interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

export interface SubmitterOptions {
  /** Where keys live; default IndexedDB, falling back to memory. */
  store?: KeyStore;
  /** Separates users on one device; a function is read at each submission. */
  scope?: string | (() => string | undefined);
  /** How long an unfinished intent keeps its key, in ms (default 24 h, the usual server retention). */
  ttl?: number;
  /** After a final answer, the same intent gets that answer back for this long, in ms (default 1000). */
  settleWindow?: number;
  /** `retry: 3`, `retry: false`, or `{ attempts, baseDelay, maxDelay, maxRetryAfter }`. */
  retry?: RetryInput;
  /**
   * How long in total (ms) to keep waiting while the server answers "in progress" (a 409
   * by default): those waits spend no attempt, so a slow handler is waited out instead of
   * the attempts running out in a second. Default 10000; 0 hands back the first 409 (an
   * API whose 409 means a business conflict).
   */
  inProgressTimeout?: number;
  /**
   * Which answers mean "this key was used with another payload" (a `KeyReusedError`),
   * besides our own problem type: `[417]` for express-idempotency, `[422]` for
   * @node-idempotency (README, "Server dialects").
   */
  keyReused?: KeyReusedMatch;
  /** Per-attempt timeout in ms; a timed-out attempt is ambiguous and retried. Default none. */
  timeout?: number;
  /** A store operation slower than this (ms) degrades to memory (default 2000). */
  storageTimeout?: number;
  onEvent?: SubmitEventListener;
  /** Injectable clock, random source, key source and lock manager, for tests and odd hosts. */
  now?: () => number;
  random?: () => number;
  createKey?: () => string;
  /**
   * Token mode: each new intent's key comes from the server (a one-time token it issued)
   * instead of `createKey`. Keep one fetched ahead (`serverTokens()` from
   * `submit-once/tokens` does), so a click does not wait on it; a rejection fails the
   * submission before anything is stored or sent.
   */
  tokenProvider?: () => Promise<string>;
  /**
   * Default `navigator.locks` where it exists (secure contexts); `null` turns cross-tab
   * coordination off (a second tab then sends with the same key and the server replays).
   */
  locks?: LockManagerLike | null;
  /** Of the default IndexedDB store's writes; see `indexedDbStore` and the README. Default `relaxed`. */
  durability?: Durability;
  /** Where `queue`d submissions wait while offline or after an ambiguous end: `createOutbox()` from `submit-once/outbox`. */
  outbox?: OutboxPort;
  /** Every submission that can describe its request (fetch, axios) goes through `outbox`; default false. */
  queue?: boolean;
}

export interface ResolvedOptions {
  store: KeyStore | undefined;
  scope: () => string | undefined;
  ttl: number;
  settleWindow: number;
  retry: RetryOptions;
  classify: Classifier<unknown>;
  inProgressTimeout: number;
  timeout: number | undefined;
  storageTimeout: number;
  onEvent: SubmitEventListener | undefined;
  now: () => number;
  random: () => number;
  createKey: () => string;
  tokenProvider: (() => Promise<string>) | undefined;
  locks: LockManagerLike | undefined;
  durability: Durability | undefined;
  outbox: OutboxPort | undefined;
  queue: boolean;
}

export const DEFAULTS = Object.freeze({
  ttl: 24 * 60 * 60 * 1000,
  settleWindow: 1000,
  storageTimeout: 2000,
  inProgressTimeout: 10_000,
});

export function resolveOptions(options: SubmitterOptions = {}): ResolvedOptions {
  const scope = options.scope;
  if (options.queue && !options.outbox) throw new InvalidOptionsError('queue', 'needs an outbox');
  if (scope !== undefined && typeof scope !== 'string' && typeof scope !== 'function') {
    throw new InvalidOptionsError('scope', 'expected a string or a function returning one');
  }
  return {
    store: options.store,
    scope: typeof scope === 'function' ? scope : () => scope,
    ttl: positive('ttl', options.ttl ?? DEFAULTS.ttl),
    settleWindow: nonNegative('settleWindow', options.settleWindow ?? DEFAULTS.settleWindow),
    retry: normaliseRetry(options.retry),
    classify: (result, now) => defaultClassifier(result, now, options.keyReused),
    inProgressTimeout: nonNegative('inProgressTimeout', options.inProgressTimeout ?? DEFAULTS.inProgressTimeout),
    // Infinity is no timeout: no timer, no signal per attempt.
    timeout: options.timeout === undefined || options.timeout === Infinity ? undefined : positive('timeout', options.timeout),
    storageTimeout: positive('storageTimeout', options.storageTimeout ?? DEFAULTS.storageTimeout),
    onEvent: options.onEvent,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    createKey: options.createKey ?? takeKey,
    tokenProvider: options.tokenProvider,
    locks: options.locks === null ? undefined : (options.locks ?? browserLocks()),
    durability: options.durability,
    outbox: options.outbox,
    queue: options.queue === true,
  };
}

function browserLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : undefined;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) throw new InvalidOptionsError(name, `expected a number > 0, got ${String(value)}`);
  return value;
}

export function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new InvalidOptionsError(name, `expected a number >= 0, got ${String(value)}`);
  return value;
}
