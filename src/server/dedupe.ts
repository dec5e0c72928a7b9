import type { IdempotencyStore, StoredResponse } from './stores/types.js';
import { checkNumber, InvalidOptionsError, MAX_TIMER_MS, positive, wholeAtLeast } from './invalid-options-error.js';
import { DEFAULT_MAX_RUN_MS } from './options.js';

export interface DedupeOptions {
  /** Where message ids live: any `IdempotencyStore` (memory, file, Redis, Postgres). */
  readonly store: IdempotencyStore;
  /**
   * How long a running handler holds the message, ms; renewed while it runs. When the
   * consumer dies mid-handler, a redelivery runs the handler again after this long.
   * Default 30 s.
   */
  readonly leaseMs?: number;
  /** How long a handled message id is remembered, so a redelivery is dropped. Default 24 h. */
  readonly retentionMs?: number;
  /** Runs of the handler (failures and crashes both count) before the message is dead-lettered. Default 5. */
  readonly maxAttempts?: number;
  /**
   * Longest a handler keeps the message, ms, as the HTTP middleware's `maxRunMs`: past it the
   * lease is no longer renewed, `signal` aborts, and the run answers as a failed one (`failed`,
   * or `dead-letter` at the last attempt) without waiting for the handler. The claim is left to
   * run out, so a redelivery after the lease runs with `recovery: true`. Default 5 min.
   */
  readonly maxRunMs?: number;
  /** Keeps one consumer's ids apart from another's in a shared store. Default `message`. */
  readonly namespace?: string;
  /** Clock, ms since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/** What the handler is told about the delivery it runs for. */
export interface DedupeContext {
  readonly messageId: string;
  /** 1 for the first run; counts runs that failed or crashed before this one. */
  readonly attempt: number;
  /**
   * True when an earlier run of this message may have taken effect (it crashed or timed
   * out mid-handler). The handler must then make its effect idempotent itself, e.g. an
   * insert that a unique index on the message id turns into a no-op.
   */
  readonly recovery: boolean;
  /**
   * Aborted, with a `LeaseLostError` as its reason, once this run no longer holds the message:
   * a renew answered that the claim is gone, no renew succeeded for `leaseMs`, or the run passed
   * `maxRunMs`. A redelivery may then run the message alongside; a handler that passes the
   * signal on (fetch, a cancellable query) stops first. Dedupe cannot stop one that ignores it.
   */
  readonly signal: AbortSignal;
}

/** Why a run's `signal` aborted: `LeaseLostError.reason`. */
export type LeaseLostReason = 'lost' | 'expired' | 'max-run';

/**
 * The reason of an aborted `DedupeContext.signal`, and the error of a run given up at `maxRunMs`:
 * the run no longer holds its message (`reason` says why), so another may run it.
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'lease-lost';
  constructor(readonly reason: LeaseLostReason) {
    super(
      reason === 'max-run'
        ? 'submit-once: the handler ran past maxRunMs; its message is no longer held'
        : reason === 'lost'
          ? 'submit-once: the store no longer holds the claim of this run on its message'
          : 'submit-once: no lease renewal succeeded for leaseMs; another consumer may take the message over',
    );
  }
}

/** True for a `LeaseLostError`, also one from another copy of this package. */
export function isLeaseLostError(error: unknown): error is LeaseLostError {
  return error instanceof Error && (error as { code?: unknown }).code === 'lease-lost';
}

export type DedupeHandler<T> = (context: DedupeContext) => T | Promise<T>;

/** What `dedupe` did with one delivery; the broker adapter turns it into ack, requeue or dead-letter. */
export type DedupeResult<T> =
  /** The handler ran and its completion was recorded: acknowledge. */
  | { readonly status: 'processed'; readonly value: T; readonly attempt: number }
  /** Handled before (a redelivery or a duplicate publish): acknowledge without running. */
  | { readonly status: 'duplicate' }
  /**
   * Another consumer runs it now: requeue, and try again after `retryAfterMs`. `consumeOnce`
   * also answers this when the store failed, with the store's `error`: the handler did not
   * run, unless the store failed to record its completion (given up after about `leaseMs`).
   */
  | { readonly status: 'busy'; readonly retryAfterMs: number; readonly error?: unknown }
  /** The handler failed and may be retried: requeue. */
  | { readonly status: 'failed'; readonly error: unknown; readonly attempt: number }
  /** Out of attempts: move the message to the dead-letter route with `error`, then acknowledge. */
  | { readonly status: 'dead-letter'; readonly error: string; readonly attempts: number };

type ResolvedDedupeOptions = Required<Pick<DedupeOptions, 'leaseMs' | 'retentionMs' | 'maxAttempts' | 'maxRunMs' | 'namespace'>>;

const DEFAULTS = { leaseMs: 30_000, retentionMs: 24 * 60 * 60 * 1000, maxAttempts: 5, maxRunMs: DEFAULT_MAX_RUN_MS, namespace: 'message' } as const;

// Every message of a namespace shares this fingerprint: a message id is the whole identity.
const FINGERPRINT = 'message';

/**
 * Runs `handler` for a message at most once per `messageId` ("lock, check, update"):
 * claims the id in the store, runs, records it done. A redelivery of a done message is
 * `duplicate`; a message whose handler keeps failing is `dead-letter` after `maxAttempts`
 * runs. A completion the store fails to record is tried again, with a short backoff, while
 * the lease is renewed, for at most `leaseMs`. A consumer that dies mid-handler leaves the claim to run out: the redelivery
 * after the lease runs again with `recovery: true` (at-least-once for that case: make the
 * effect idempotent, e.g. a unique index on the message id). So does a run that loses its lease
 * and ignores `context.signal`, or one still running past `maxRunMs`.
 *
 * @throws InvalidOptionsError, a RangeError (a rejection), for a missing `store`, or a `leaseMs`, `retentionMs`, `maxAttempts` or `maxRunMs` out of range.
 * @throws TypeError (a rejection) for a `handler` that is not a function.
 * @throws TypeError (a rejection) for a `messageId` that is not a non-empty string: amqplib
 * types `properties.messageId` as `any`, and a message published without one would share one
 * key with every other such message, each after the first acknowledged as a duplicate unrun.
 * @throws TypeError (a rejection) for a transactional store (`postgresStore(pool, {
 * transactional: true })`), whose release of a failed run is a rollback that hides the run:
 * a message that keeps failing would never be dead-lettered.
 *
 * @example
 * const result = await dedupe(msg.properties.messageId, () => chargeCard(order), { store });
 * if (result.status === 'processed' || result.status === 'duplicate') channel.ack(msg);
 */
export async function dedupe<T>(messageId: string, handler: DedupeHandler<T>, options: DedupeOptions): Promise<DedupeResult<T>> {
  const opts = resolveDedupeOptions(options);
  assertFunction('handler', handler);
  if (typeof messageId !== 'string' || messageId === '') {
    throw new TypeError(`submit-once: dedupe needs the message id as a non-empty string, got ${messageId === '' ? 'an empty string' : messageId === null ? 'null' : typeof messageId}`);
  }
  const now = options.now ?? Date.now;
  const { store } = options;
  const key = JSON.stringify([opts.namespace, messageId]);

  const claimedAt = performance.now();
  const claim = await claimAttempt(store, key, opts.leaseMs, opts.retentionMs, now());
  if (claim.status === 'in-progress') return { status: 'busy', retryAfterMs: Math.max(0, claim.leaseExpiresAt - now()) };
  if (claim.status === 'completed') {
    const outcome = decodeOutcome(claim.response);
    // A dead-lettered message that comes back was not moved yet (the mover crashed): move it again.
    return outcome.deadLetter === undefined ? { status: 'duplicate' } : { status: 'dead-letter', ...outcome.deadLetter };
  }
  if (claim.status === 'unknown') {
    // Not reachable with a recovering claim of one fingerprint; never loop on it.
    return { status: 'dead-letter', error: 'the store reports the outcome of an earlier run as unknown', attempts: 0 };
  }

  const { token, attempt, recovery } = claim;
  const record = (outcome: Outcome): Promise<boolean> =>
    store.complete({ key, token, fingerprint: FINGERPRINT, response: encodeOutcome(outcome), retentionMs: opts.retentionMs, now: now() });

  if (attempt > opts.maxAttempts) {
    // Runs that crashed count too: a message that kills its consumer every time ends here.
    const deadLetter = { error: `gave up after ${opts.maxAttempts} attempts; the last one did not finish`, attempts: attempt - 1 };
    await record({ deadLetter });
    return { status: 'dead-letter', ...deadLetter };
  }

  const lease = keepLease(store, key, token, opts.leaseMs, now, claimedAt);
  let value: T;
  try {
    value = await runBounded(() => handler({ messageId, attempt, recovery, signal: lease.signal }), lease, opts.maxRunMs);
  } catch (error) {
    lease.stop();
    if (attempt >= opts.maxAttempts) {
      const deadLetter = { error: errorText(error), attempts: attempt };
      await record({ deadLetter });
      return { status: 'dead-letter', ...deadLetter };
    }
    // Not released past maxRunMs: the handler may still take effect, so its redelivery must
    // wait out the lease and be told `recovery`, as after a crash.
    if (!(isLeaseLostError(error) && error.reason === 'max-run' && lease.signal.reason === error)) {
      await store.release({ key, token, retentionMs: opts.retentionMs, now: now() });
    }
    return { status: 'failed', error, attempt };
  }
  try {
    // false: the lease ran out and another consumer took over; the effect is done either way.
    await recordWhileHeld(() => record({}), lease, opts.leaseMs);
  } finally {
    lease.stop();
  }
  return { status: 'processed', value, attempt };
}

/**
 * The handler's outcome, or a `LeaseLostError('max-run')` once it has run `maxRunMs`: a handler
 * that never settles would otherwise renew its lease for ever, the message busy everywhere and
 * its consumer's `cancel()` never done.
 */
function runBounded<T>(run: () => T | Promise<T>, lease: Lease, maxRunMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overrun = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new LeaseLostError('max-run');
      // Rejected before the abort, whose listeners may settle the handler first.
      reject(error);
      lease.abort(error);
      lease.stop();
    }, maxRunMs);
    timer.unref();
  });
  // Async, so a handler that throws synchronously is a failed run, and its timer cleared.
  const ran = (async () => run())();
  return Promise.race([ran, overrun]).finally(() => {
    clearTimeout(timer);
    lease.disarm();
  });
}

/**
 * Records a completion, trying again after a store blip (a connection reset, a failover) while
 * the lease is still renewed: given up at once, the message was requeued with its claim still
 * running, and its redelivery after the lease ran the handler a second time. Gives up (rejects
 * with the store's error) once the lease is lost or would run out before the next try, and at
 * the latest one `leaseMs` after the handler returned: a store whose renewals work but whose
 * completions always fail must not hold the message for ever.
 */
async function recordWhileHeld(record: () => Promise<boolean>, lease: Lease, leaseMs: number): Promise<void> {
  const giveUpAt = performance.now() + leaseMs;
  for (let waitMs = 10; ; waitMs *= 2) {
    try {
      await record();
      return;
    } catch (error) {
      const nextTry = performance.now() + waitMs;
      if (nextTry >= Math.min(giveUpAt, lease.heldUntil())) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/**
 * The options with their defaults, refused (an `InvalidOptionsError` naming the option) where a
 * value would break the guarantee: a lease of 0 or NaN has run out at its claim, so a
 * second delivery runs the message alongside the first; a NaN `maxAttempts` never
 * compares true, so a poison message is never dead-lettered.
 */
export function resolveDedupeOptions(options: DedupeOptions): ResolvedDedupeOptions {
  if (typeof options?.store?.claim !== 'function') {
    throw new InvalidOptionsError('store', 'dedupe needs an IdempotencyStore (memoryStore(), fileStore(), redisStore() or postgresStore())');
  }
  assertCountsAttempts(options.store);
  const opts: ResolvedDedupeOptions = { ...DEFAULTS, ...definedOnly(options) };
  positive('leaseMs', opts.leaseMs);
  positive('retentionMs', opts.retentionMs);
  wholeAtLeast('maxAttempts', opts.maxAttempts, 1);
  // Node fires a longer timer after 1 ms: every run would be given up at once.
  checkNumber('maxRunMs', opts.maxRunMs, 0, false, MAX_TIMER_MS);
  return opts;
}

/** Refuses at once what would otherwise fail at every message, each a counted attempt. */
export function assertFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw new TypeError(`submit-once: ${name} must be a function, got ${value === null ? 'null' : typeof value}`);
}

/** Refuses a store that cannot count failed runs: see `dedupe`'s `@throws`. */
function assertCountsAttempts(store: IdempotencyStore): void {
  if (store.transactional === true) {
    throw new TypeError(
      'submit-once: dedupe needs a store that keeps failed runs; the transactional Postgres store rolls a failed run back with its claim, so a failing message would never be dead-lettered (use postgresStore without transactional)',
    );
  }
}

type Claim =
  | { readonly status: 'claimed'; readonly token: string; readonly attempt: number; readonly recovery: boolean }
  | { readonly status: 'in-progress'; readonly leaseExpiresAt: number }
  | { readonly status: 'completed'; readonly response: StoredResponse }
  | { readonly status: 'unknown' };

/**
 * Claims the message, always asking to `recover`: for a message, a run whose consumer
 * died is taken over after its lease (the broker redelivers it anyway), and the handler is
 * told so. The store's execution count (kept across releases and takeovers) numbers the
 * attempt, crashed runs included.
 */
async function claimAttempt(store: IdempotencyStore, key: string, leaseMs: number, retentionMs: number, now: number): Promise<Claim> {
  const claim = await store.claim({ key, fingerprint: FINGERPRINT, leaseMs, retentionMs, now, recover: true });
  if (claim.status !== 'claimed') return claim;
  return { status: 'claimed', token: claim.token, attempt: claim.executions, recovery: claim.rerun === 'recovery' };
}

interface Outcome {
  readonly deadLetter?: { readonly error: string; readonly attempts: number };
}

function encodeOutcome(outcome: Outcome): StoredResponse {
  return { status: 200, headers: {}, body: new TextEncoder().encode(JSON.stringify(outcome)) };
}

function decodeOutcome(response: StoredResponse): Outcome {
  try {
    return JSON.parse(new TextDecoder().decode(response.body)) as Outcome;
  } catch {
    return {};
  }
}

interface Lease {
  /** When the claim runs out unless renewed again, on `performance.now()`'s clock; 0 once it is lost. */
  heldUntil(): number;
  /** The handler's `signal`. */
  readonly signal: AbortSignal;
  abort(reason: LeaseLostError): void;
  /** The handler settled: what it was told to stop for no longer concerns it. */
  disarm(): void;
  stop(): void;
}

/**
 * Renews the claim every half lease while the handler runs, as the HTTP middleware does, and
 * aborts the handler's signal once the claim is lost or would have run out.
 */
function keepLease(store: IdempotencyStore, key: string, token: string, leaseMs: number, now: () => number, claimedAt: number): Lease {
  const controller = new AbortController();
  let armed = true;
  const abort = (reason: LeaseLostError): void => {
    if (armed && !controller.signal.aborted) controller.abort(reason);
  };
  // Measured locally, not on `now`: an injected or jumping clock must not stretch the retries.
  // Taken before the claim and each renew was asked, so it ends no later than the store's lease.
  let heldUntil = claimedAt + leaseMs;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  // Re-armed rather than moved at each renew; capped, as Node fires a longer timer after 1 ms.
  const watch = (): void => {
    const left = heldUntil - performance.now();
    if (left <= 0) return abort(new LeaseLostError('expired'));
    deadline = setTimeout(watch, Math.min(MAX_TIMER_MS, left));
    deadline.unref();
  };
  // Capped: Node fires a longer interval after 1 ms, renewing a thousand times a second.
  const everyMs = Math.min(MAX_TIMER_MS, Math.max(10, Math.floor(leaseMs / 2)));
  const timer = setInterval(() => {
    const asked = performance.now();
    store.renew({ key, token, leaseMs, now: now() }).then(
      (held) => {
        if (held) {
          heldUntil = Math.max(heldUntil, asked + leaseMs);
        } else {
          heldUntil = 0;
          abort(new LeaseLostError('lost'));
          stop();
        }
      },
      () => {
        // A store hiccup: the next tick tries again, the lease covers the gap. Renewing goes on
        // past it: if no one took the message over, a late renew still keeps others out.
      },
    );
  }, everyMs);
  timer.unref();
  const disarm = (): void => {
    armed = false;
    clearTimeout(deadline);
  };
  const stop = (): void => {
    clearInterval(timer);
    disarm();
  };
  watch();
  return { heldUntil: () => heldUntil, signal: controller.signal, abort, disarm, stop };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
