/**
 * The engine: fingerprint -> resolve key -> persist -> send -> classify -> retry or settle.
 * Adapters (fetch, axios, React, DOM) only translate their world into `submit()` calls.
 */
import type { Classifier, Settled, Verdict } from './classify.js';
import {
  AmbiguousOutcomeError,
  InvalidKeyError,
  InvalidOptionsError,
  InvalidRequestError,
  KeyReusedError,
  OutcomeUnknownError,
  ReplayedFailureError,
  SubmissionAbortedError,
} from './errors.js';
import { EventHub, type SubmitEvent, type SubmitEventListener } from './events.js';
import { crossTab } from './cross-tab.js';
import { forget, leftBehind, track, untrack, type LeftSettle } from './left-behind.js';
import { fallbackStore } from './fallback-store.js';
import { fingerprintSoon, type Intent } from './fingerprint.js';
import { SingleFlight } from './inflight.js';
import { inProgressWaits } from './in-progress.js';
import { mintAhead, takeKey } from './key.js';
import { indexedDbStore } from './indexeddb-store.js';
import * as transition from './key-record.js';
import { isValidKey } from '../protocol/key-grammar.js';
import { resolveOptions, type SubmitterOptions } from './options.js';
import type { HeldRequestOf, OutboxPort } from './outbox-port.js';
import { backoffDelay, MAX_TIMER, normaliseRetry, sleep, type RetryInput, type RetryOptions } from './retry.js';
import { settleWindow } from './settle-window.js';
import type { Decide, KeyRecord, KeyStore } from './store.js';

export interface AttemptContext {
  /** The idempotency key: send it with the request. */
  key: string;
  /** 1 for the first attempt. */
  attempt: number;
  /**
   * Aborts when the caller aborts or the attempt times out. Where neither can happen, made
   * on first read only: a signal nobody reads cost a click about 30 µs (docs/client-cost.md).
   */
  readonly signal: AbortSignal;
  fingerprint: string;
}

export interface SubmitCall<T> {
  intent: Intent;
  /** Sends one attempt. Called again, with the same key, after an ambiguous outcome. */
  send: (attempt: AttemptContext) => Promise<T>;
  /** A key chosen by the caller (or already on the request): it wins over the stored one. */
  key?: string | undefined;
  signal?: AbortSignal | undefined;
  retry?: RetryInput;
  classify?: Classifier<T>;
  /**
   * Hands each caller its own copy of a shared result (a Response body can be read once).
   * Every caller, the first included, receives `share(result)`.
   */
  share?: (value: T) => T;
  /**
   * How a final result crosses to another tab waiting on the same intent (structured-
   * cloneable data). Without it, a waiting tab sends itself, with the same key.
   */
  wire?: Wire<T>;
  /**
   * `true`: offline, or ending ambiguous, the request is kept in the submitter's `outbox`
   * and replayed later with the same key; the promise settles with the replay's answer.
   * Default: the submitter's `queue` where `held` is given. Needs `held`.
   */
  queue?: boolean | undefined;
  /** The request this call sends, for the outbox, and how its replayed answer becomes a `T`. */
  held?: Held<T> | undefined;
  /** Lets go of a result no caller will get (an answer retried past): fetch cancels its body. */
  discard?: (value: T) => void;
}

export interface Held<T> {
  request: HeldRequestOf;
  receive: (answer: Response) => T | Promise<T>;
}

export interface Wire<T> {
  encode(value: T): unknown;
  decode(data: unknown): T;
}

export interface Submitter {
  /** Sends an intent exactly once as far as the client can ensure; see DESIGN.md. */
  submit<T>(call: SubmitCall<T>): Promise<T>;
  /** Mints and persists the intent's key ahead of the click; returns it. */
  prepare(intent: Intent): Promise<string>;
  /** The key a submission of this intent would use now, if one is stored. */
  peek(intent: Intent): Promise<string | undefined>;
  /** Drops the intent's key, so its next submission is a new intent. */
  forget(intent: Intent): Promise<void>;
  subscribe(listener: SubmitEventListener): () => void;
  /** Resolves when background storage work (retiring, sweeping) is done. */
  idle(): Promise<void>;
}

/** How a run ended; `final` results are handed to repeats inside the settle window. */
interface Outcome<T> {
  result: Settled<T>;
  final: boolean;
  /** When its answer came (the settle window starts then); else read when remembered. */
  at?: number;
}

function failed<T>(error: unknown): Outcome<T> {
  return { result: { ok: false, error }, final: false };
}

/**
 * Internal, in no public type: a caller whose signal is made only when something must
 * follow it (the hook's and the guards' run: aborted only if the page detaches it) puts a
 * function here that returns the signal if it was made. The engine asks it whether the
 * caller aborted, and reads `call.signal` (which makes it) only to follow it: a wait or a
 * timeout. Its attempts carry no signal but a timed one: its `send` gives its own.
 * Called as a method of the call.
 */
export const peekSignal: unique symbol = Symbol();
type Peeked = { [peekSignal]?: (this: unknown) => AbortSignal | undefined };

const SWEEP_INTERVAL = 60_000;
/** Settle writes wait this long (ms) for a moment without claims, then go in one transaction. */
const WRITE_DELAY = 100;

/**
 * Claims in progress in this page, all engines together: they share one database, so an
 * engine's settle writes wait for the other engines' claims too.
 */
let claiming = 0;

/** A settle write waiting in memory: the record to write (`null`: delete) over the one claimed. */
interface QueuedWrite {
  claimed: KeyRecord;
  next: KeyRecord | null;
}

/**
 * @example
 * const submitter = createSubmitter({ scope: () => currentUser.id })
 * await submitter.submit({
 *   intent: { method: 'POST', url: '/orders', body: cart },
 *   send: ({ key, signal }) => fetch('/orders', { method: 'POST', body: JSON.stringify(cart), headers: { 'Idempotency-Key': key }, signal }),
 * })
 */
export function createSubmitter(options: SubmitterOptions = {}): Submitter {
  const config = resolveOptions(options);
  const events = new EventHub();
  if (config.onEvent) events.subscribe(config.onEvent);
  const emit = (event: SubmitEvent) => events.emit(event);
  const store = fallbackStore(config.store ?? indexedDbStore({ durability: config.durability }), {
    timeout: config.storageTimeout,
    onDegrade: (error, operation) => emit({ type: 'storage-degraded', operation, error }),
    writeBehind: (held, key, current) => transition.writeBehind(held, key, current, config.now(), config),
    // A settle that went to memory is committed only now; until then a page left takes it along.
    onWrittenThrough: (fp, held) => {
      if (held?.state === 'settled' && uncommitted.get(fp)?.key === held.key) uncommitted.delete(fp);
      if (uncommitted.size === 0) untrack(unwritten);
    },
  });
  const flights = new SingleFlight<Outcome<unknown>>();
  const recent = settleWindow(config.settleWindow, config.now);
  const background = new Set<Promise<unknown>>();
  /** Settle writes not yet in the store, by fingerprint: they never queue ahead of a claim. */
  const queued = new Map<string, QueuedWrite>();
  /** Keys claimed ahead by `prepare()`, by fingerprint, for the click to send at once. */
  const prepared = new Map<string, Promise<KeyRecord | undefined>>();
  /** Attempts this engine owns, by key: a tab waiting on one asks for its shareable result. */
  const owned = new Map<string, () => Promise<unknown>>();
  /**
   * Keys this engine's claim wrote that its attempt has not registered in `owned` yet:
   * another tab can read the claim before this page hears it committed, and its ask must
   * wait for the attempt, not be told to send (a second request).
   */
  const announced = new Map<string, (answer: (() => Promise<unknown>) | undefined) => void>();
  const tabs = crossTab(config.locks, async (key) => owned.get(key)?.());

  /** False where the key is this engine's already (announced or registered). */
  function announce(key: string): boolean {
    if (owned.has(key)) return false;
    let register!: (answer: (() => Promise<unknown>) | undefined) => void;
    const registered = new Promise<(() => Promise<unknown>) | undefined>((resolve) => (register = resolve));
    owned.set(key, async () => (await registered)?.());
    announced.set(key, register);
    return true;
  }

  /** The attempt under an announced key is `answer` (undefined: none, its claim failed). */
  function register(key: string, answer: (() => Promise<unknown>) | undefined): void {
    announced.get(key)?.(answer);
    announced.delete(key);
    if (answer) owned.set(key, answer);
    else owned.delete(key);
  }
  let lastSweep = 0;
  let writeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Keys the outbox got a final answer for, by fingerprint, with when: a claim racing their settle write must not reuse them. */
  const answered = new Map<string, { key: string; at: number }>();
  const settledBy = (fp: string, current: KeyRecord | undefined) => {
    const done = answered.get(fp);
    return current && done?.key === current.key && current.state !== 'settled' ? transition.settle(current, 0, done.at) : undefined;
  };
  // A request the outbox answered after its submission's page was gone: its key is settled,
  // so the same cart ordered later is a new intent, not a replay of this one.
  config.outbox?.onAnswer?.(({ key, fingerprint: fp, at = config.now() }) => {
    answered.set(fp, { key, at });
    later(() => store.upsert(fp, (current) => settledBy(fp, current)));
  });
  // Settles an earlier page left unwritten (it went on the moment its answer came): so too.
  // Dropped only by the engine whose store holds the key: another engine of the origin
  // (its own store: a memory one, another database) may start first. Else they age out.
  for (const [fp, key, at] of leftBehind(config.now() - config.ttl)) {
    if (!answered.has(fp)) answered.set(fp, { key, at });
    let ours = false;
    const apply = (current: KeyRecord | undefined) => ((ours = current?.key === key), settledBy(fp, current));
    later(() => store.upsert(fp, apply).then(() => ours && forget(fp, key)));
  }
  /** Settles queued or being written, for `left-behind.ts` if the page is left first. */
  const uncommitted = new Map<string, { key: string; at: number }>();
  const unwritten = (): LeftSettle[] => [...uncommitted].map(([fp, { key, at }]) => [fp, key, at]);

  function later(task: () => Promise<unknown>): void {
    const promise = Promise.resolve()
      .then(task)
      .catch(() => undefined)
      .finally(() => background.delete(promise));
    background.add(promise);
  }

  const fingerprintFor = (intent: Intent): string | Promise<string> => fingerprintSoon(intent, intent.scope ?? config.scope());

  /** The key a submission of the intent would reuse now, if any. */
  async function liveKey(fp: string): Promise<string | undefined> {
    const write = queued.get(fp);
    const stored = write ? (write.next ?? undefined) : await store.get(fp);
    return stored && transition.isLive(stored, config.now(), config) ? stored.key : undefined;
  }

  /**
   * Picks the intent's key and writes it ahead, in one store transaction, naming this
   * engine as the owner; or finds another tab's attempt in flight (`busy`), left as is.
   */
  async function claimKey(fp: string, explicitKey: string | undefined, takeOverFrom?: string, sending = false, signal?: AbortSignal): Promise<{ record: KeyRecord; busy?: true }> {
    // Only in the first moments of a page, before its lifetime lock is granted.
    if (tabs && tabs.owner() === undefined) await tabs.ready;
    // Token mode: fetched before the transaction (it cannot await the network), and only
    // when no live key will be reused (a second prepare, a retry after a reload). The
    // caller's abort ends the wait: a token endpoint that never answers must not hold the
    // submission (and a hook's lock) forever; nothing is claimed or sent.
    const provider = config.tokenProvider && explicitKey === undefined && (await liveKey(fp)) === undefined ? config.tokenProvider : undefined;
    const token = provider && (await (signal ? untilAborted(provider(), signal) : provider()));
    const policy = provider ? { ...config, createKey: () => token! } : config;
    // A settle write still in memory is newer than the stored record it was claimed over.
    const write = queued.get(fp);
    queued.delete(fp);
    let claimed!: ReturnType<typeof transition.claim>;
    claiming += 1;
    // Every key a decision announced: the store may decide more than once (a blind add
    // first, a transaction run again), and only the last decision's key is written.
    const announcedKeys: string[] = [];
    const unannounce = (kept?: string) => announcedKeys.forEach((key) => key !== kept && register(key, undefined));
    // A key source of the app's own (a token endpoint read with the wrong field, a typo'd
    // createKey) giving no valid key: refused, not stored. Sent, `undefined` went out as the
    // key "undefined" for every intent, and the server replayed one order for the next.
    let invalid = false;
    try {
      await store.upsert(fp, (stored) => {
        const found = write && stored?.key === write.claimed.key ? (write.next ?? undefined) : stored;
        const current = settledBy(fp, found) ?? found;
        claimed = transition.claim(current, fp, config.now(), explicitKey, policy, { owner: tabs?.owner(), takeOverFrom });
        // Not thrown here: a throw in a store's transaction reads as a failed store (degrade).
        // What this claim took over is still written: a settle queued in memory (deleted
        // from `queued` above), else the next order of the intent would reuse its key.
        invalid = claimed.source === 'new' && !isValidKey(claimed.record.key);
        if (invalid) return current === stored ? undefined : (current ?? null);
        // In the transaction, before any other tab can read the claim.
        if (sending && !claimed.busy && claimed.record.owner !== undefined && announce(claimed.record.key)) announcedKeys.push(claimed.record.key);
        return claimed.busy ? undefined : claimed.record;
      });
    } catch (error) {
      unannounce();
      throw error;
    } finally {
      claiming -= 1;
    }
    const { record, source, busy } = claimed;
    unannounce(busy || invalid ? undefined : record.key);
    if (invalid) throw new InvalidKeyError(record.key);
    if (!busy) emit(source === 'new' ? { type: 'key-created', key: record.key, fingerprint: fp } : { type: 'key-reused', key: record.key, fingerprint: fp, source });
    return claimed;
  }

  /**
   * The record to send under: one `prepare()` claimed (no storage on the click), else a
   * claim; or, when another tab's attempt is in flight, that tab's outcome.
   */
  async function claimFor<T>(call: SubmitCall<T>, fp: string): Promise<KeyRecord | Outcome<T>> {
    // No wait (a microtask hop on the claim's path) where nothing was prepared, as on most clicks.
    // A prepared click keeps this hop: sent without it (the record kept, taken at once), it
    // reached fetch() 25 µs sooner but its request left the renderer 60-70 µs later (docs/client-cost.md).
    const ahead = prepared.size > 0 ? await prepared.get(fp) : undefined;
    prepared.delete(fp);
    if (ahead && (call.key ?? ahead.key) === ahead.key && transition.isLive(ahead, config.now(), config)) return ahead;
    for (let takeOverFrom: string | undefined; ; ) {
      let claimed: Awaited<ReturnType<typeof claimKey>>;
      try {
        // The signal is read (made, for the hook's run) only where a token may be awaited.
        claimed = await claimKey(fp, call.key, takeOverFrom, true, config.tokenProvider ? call.signal : undefined);
      } catch (error) {
        // An outcome, not a throw: a joined caller whose own signal did not fire carries on.
        if (error instanceof SubmissionAbortedError) return failed(error);
        throw error;
      }
      const { record, busy } = claimed;
      if (!busy || !tabs) return record;
      const { key, owner } = record;
      let answer: { data: unknown } | undefined;
      try {
        answer = await tabs.wait(owner!, key, call.signal);
      } catch (reason) {
        return failed(new SubmissionAbortedError(key, { cause: reason }));
      }
      if (answer && call.wire) {
        emit({ type: 'joined', fingerprint: fp });
        return { result: { ok: true, value: call.wire.decode(answer.data) }, final: true };
      }
      // The owner let go (no answer to share) or is gone: its claim is ours, same key.
      takeOverFrom = owner;
    }
  }

  async function run<T>(call: SubmitCall<T>, fp: string, retry: RetryOptions): Promise<Outcome<T>> {
    const record = await claimFor(call, fp);
    if ('result' in record) return record;
    const outcome = attempts(call, fp, retry, record);
    // Encoded only if a tab asks (reading a body twice is not free); forgotten with the settle write.
    if (record.owner) {
      register(record.key, async () => {
        const { result, final } = await outcome;
        return final && result.ok && call.wire ? call.wire.encode((call.share ?? ((value: T) => value))(result.value)) : undefined;
      });
    }
    return await outcome;
  }

  /** Sends under the claimed record (durable before the request can reach the server) until an answer. */
  async function attempts<T>(call: SubmitCall<T>, fp: string, retry: RetryOptions, record: KeyRecord): Promise<Outcome<T>> {
    const classify = (call.classify ?? config.classify) as Classifier<T>;
    const { key } = record;
    let attempt = 0;
    // -- server dialects (issue 9): "in progress" waits have their own bound and spend no attempt.
    // Made at the first such answer only: most submissions never get one.
    let inProgress: ReturnType<typeof inProgressWaits> | undefined;
    let spared = 0;
    // --
    const outbox = (call.queue ?? config.queue) && call.held ? config.outbox : undefined;
    const peek = (call as Peeked)[peekSignal];
    for (;;) {
      attempt += 1;
      if ((peek ? peek.call(call) : call.signal)?.aborted) return abort(record, attempt - 1, call.signal!.reason);
      // -- offline outbox (issue 12): no attempt that cannot leave; the outbox sends it later.
      if (outbox?.offline()) return hold(call, record, attempt - 1, outbox);
      emit({ type: 'attempt', key, fingerprint: fp, attempt });
      const timed = config.timeout === undefined ? undefined : timedSignal(call.signal, config.timeout);
      let result!: Settled<T>;
      try {
        // A caller with `peekSignal` is not read here: its `send` reads its own signal if it must.
        const sending = call.send(new Attempt(key, attempt, fp, timed?.[0] ?? (peek ? undefined : call.signal)));
        // The request has left: the next submission's key is minted now, not on its claim,
        // and the settle write's timer is armed now, not on the answer's way to the caller.
        if (config.createKey === takeKey) mintAhead();
        writeTimer ??= setTimeout(flushWhenQuiet, WRITE_DELAY);
        result = { ok: true, value: await sending };
      } catch (error) {
        result = { ok: false, error };
      } finally {
        // The timeout bounds the wait for an answer, not the reading of its body: a 201
        // whose body is cut after the key was retired would make the next try a new intent.
        timed?.[1](result.ok);
      }
      if ((peek ? peek.call(call) : call.signal)?.aborted) return abort(record, attempt, call.signal!.reason);
      // One clock read per answer, for its verdict, its record and the settle window: after
      // the idle wait on the network, each read cost the caller's Response a few µs cold.
      const now = config.now();
      let verdict: Verdict;
      try {
        verdict = await classify(result, now);
      } catch {
        verdict = result.ok ? { kind: 'success' } : { kind: 'ambiguous' };
      }
      if (verdict.kind === 'ambiguous' && (verdict.inProgress || attempt - spared < retry.attempts)) {
        const delay = verdict.inProgress
          ? (inProgress ??= inProgressWaits(config.inProgressTimeout, retry, config.now, config.random))(verdict.retryAfterMs)
          : delayFor(verdict, attempt - spared, retry);
        if (verdict.inProgress && delay !== undefined) spared += 1;
        if (delay !== undefined) {
          if (result.ok) call.discard?.(result.value);
          // No store write here: the record written ahead already makes a reload reuse the key.
          emit({ type: 'retry', key, fingerprint: fp, attempt, delayMs: delay, ...statusOf(verdict) });
          try {
            await sleep(delay, call.signal, key);
          } catch {
            return abort(record, attempt, call.signal?.reason);
          }
          continue;
        }
      }
      if (outbox && held(verdict)) {
        if (result.ok) call.discard?.(result.value);
        return hold(call, record, attempt, outbox);
      }
      return settle(record, attempt, verdict, result, now);
    }
  }

  /**
   * Hands the request to the outbox under its key (kept in the store too, so a click after
   * a reload reuses it), then settles with the answer the outbox's replay gets. The caller's
   * signal stops the wait only: the outbox still sends it (`outbox.cancel(id)` stops that).
   */
  async function hold<T>(call: SubmitCall<T>, record: KeyRecord, attempts: number, outbox: OutboxPort): Promise<Outcome<T>> {
    const { key, fingerprint: fp } = record;
    write(record, transition.keep(record, attempts));
    const classify = (call.classify ?? config.classify) as Classifier<T>;
    // This submission's rule, applied to each replay in this page as to its attempts: an
    // API whose 409 is a refusal (its `classify`, or `inProgressTimeout: 0`) ends it there.
    const isFinal = async (answer: Response, now: number): Promise<boolean> => {
      let replayed: Settled<T>;
      try {
        replayed = { ok: true, value: await call.held!.receive(answer) };
      } catch (error) {
        replayed = { ok: false, error };
      }
      try {
        return !held(await classify(replayed, now));
      } catch {
        return replayed.ok;
      }
    };
    let result: Settled<T>;
    try {
      const { answer } = await outbox.hold({ ...call.held!.request(key), key, fingerprint: fp, keyCreatedAt: record.createdAt, isFinal }, call.signal);
      emit({ type: 'queued', key, fingerprint: fp });
      result = { ok: true, value: await call.held!.receive(await answer) };
    } catch (error) {
      // Not kept (full, no IndexedDB), cancelled, expired or no longer awaited: the key stays.
      return failed(error);
    }
    const now = config.now();
    return settle(record, attempts + 1, await classify(result, now), result, now);
  }

  /** Whether an answer ends the submission in the outbox: ambiguous, unless it is a 409 `inProgressTimeout: 0` hands back. */
  function held(verdict: Verdict): boolean {
    return verdict.kind === 'ambiguous' && !(verdict.inProgress && config.inProgressTimeout === 0);
  }

  function delayFor(verdict: Verdict & { kind: 'ambiguous' }, attempt: number, retry: RetryOptions): number | undefined {
    if (verdict.retryAfterMs !== undefined) {
      return verdict.retryAfterMs > retry.maxRetryAfter ? undefined : verdict.retryAfterMs;
    }
    return backoffDelay(attempt, retry, config.random);
  }

  /**
   * Writes how the intent ended after the caller has its answer, and after the claims in
   * progress: a settle write queued ahead of the next claim would double its cost. Lost on
   * a crash, it leaves the key reused once more, which the server replays.
   */
  function write(claimed: KeyRecord, next: KeyRecord | null): void {
    queued.set(claimed.fingerprint, { claimed, next });
    if (next?.state === 'settled') {
      uncommitted.set(claimed.fingerprint, { key: claimed.key, at: next.settledAt ?? config.now() });
      track(unwritten);
    } else uncommitted.delete(claimed.fingerprint);
    writeTimer ??= setTimeout(flushWhenQuiet, WRITE_DELAY);
  }

  function flushWhenQuiet(): void {
    writeTimer = undefined;
    if (claiming > 0) writeTimer = setTimeout(flushWhenQuiet, WRITE_DELAY);
    // Armed when a request left, it may fire before any answer: nothing to write, and no
    // sweep (a transaction) while requests are in flight. The answer arms it again.
    else if (queued.size > 0) flush();
  }

  /** Every queued write in one transaction, each only over the record it was claimed over. */
  function flush(): void {
    clearTimeout(writeTimer);
    writeTimer = undefined;
    if (queued.size > 0) {
      const decisions = new Map<string, Decide>();
      for (const [fp, { claimed, next }] of queued) {
        owned.delete(claimed.key);
        // Another tab may have taken the claim over meanwhile: its record stays.
        decisions.set(fp, (current) => (current?.key === claimed.key && current.owner === claimed.owner ? next : undefined));
      }
      const written = [...queued].map(([fp, { claimed }]) => [fp, claimed.key] as const);
      queued.clear();
      later(() =>
        store.batch(decisions).then(() => {
          // Degraded, the batch went to memory only: kept for `pagehide` until written through.
          for (const [fp, key] of written) if (uncommitted.get(fp)?.key === key && !store.inMemoryOnly(fp)) uncommitted.delete(fp);
          if (uncommitted.size === 0) untrack(unwritten);
        }),
      );
    }
    maybeSweep();
  }

  /** `now`: when the answer came. */
  function settle<T>(record: KeyRecord, attempts: number, verdict: Verdict, result: Settled<T>, now: number): Outcome<T> {
    const { key, fingerprint: fp } = record;
    const status = statusOf(verdict);
    if ((verdict.kind === 'success' || verdict.kind === 'final') && verdict.replayed) {
      emit({ type: 'replayed', key, fingerprint: fp, ...status });
    }
    if (verdict.kind === 'ambiguous') write(record, transition.keep(record, attempts));
    else if (verdict.kind === 'key-reused') write(record, null);
    // outcome-unknown too: the user is told, so the next click is a new intent.
    else write(record, transition.settle(record, attempts, now));
    emit({ type: 'settled', key, fingerprint: fp, outcome: verdict.kind, attempts, ...status });
    const cause = result.ok ? undefined : result.error;
    if (verdict.kind === 'key-reused') return failed(new KeyReusedError(key, verdict.status, { cause }));
    if (verdict.kind === 'outcome-unknown') {
      // Final: remembered for the settle window, so a double-click gets this answer too.
      return { ...failed(new OutcomeUnknownError(key, verdict.status, { cause })), final: true, at: now };
    }
    if (verdict.kind === 'replayed-failure') {
      // Final like outcome-unknown (issue 9); the cause is the replayed answer itself.
      return { ...failed(new ReplayedFailureError(key, verdict.status, { cause: result.ok ? result.value : cause })), final: true, at: now };
    }
    if (verdict.kind === 'ambiguous' && !result.ok && verdict.status === undefined) {
      return failed(new AmbiguousOutcomeError(key, attempts, { cause: result.error }));
    }
    // Only final answers are remembered for the settle window; an ambiguous one must be retried.
    return { result, final: verdict.kind !== 'ambiguous', at: now };
  }

  function abort<T>(record: KeyRecord, attempts: number, reason: unknown): Outcome<T> {
    write(record, transition.abort(record, attempts));
    emit({ type: 'settled', key: record.key, fingerprint: record.fingerprint, outcome: 'aborted', attempts });
    return failed(new SubmissionAbortedError(record.key, { cause: reason }));
  }

  function maybeSweep(): void {
    const now = config.now();
    // Either way: a wall clock set back must not stop the sweeps until it catches up.
    if (Math.abs(now - lastSweep) < SWEEP_INTERVAL) return;
    lastSweep = now;
    later(async () => {
      const expired = new Map<string, Decide>();
      for (const record of await store.list()) {
        // Deleted only if still expired when the transaction reads it (another tab may have claimed it).
        if (!transition.isLive(record, now, config)) expired.set(record.fingerprint, (current) => (transition.isLive(current, now, config) ? undefined : null));
      }
      if (expired.size > 0) await store.batch(expired);
    });
  }

  function fromRecent<T>(flightId: string, share: (value: T) => T): Promise<T> | undefined {
    const hit = recent.recall(flightId);
    if (!hit) return undefined;
    return hit.ok ? Promise.resolve(share(hit.value as T)) : Promise.reject(hit.error);
  }

  async function submit<T>(call: SubmitCall<T>): Promise<T> {
    // Untyped callers: a TypeError from deep inside, or a missing `send` retried as an
    // ambiguous failure after its key was stored, told them less.
    if (typeof call?.send !== 'function' || typeof call.intent !== 'object' || !call.intent) {
      throw new InvalidRequestError('submit() needs an intent and a send function');
    }
    if (call.key !== undefined && !isValidKey(call.key)) throw new InvalidKeyError(call.key);
    if (call.queue && !(config.outbox && call.held)) throw new InvalidOptionsError('queue', 'needs an outbox and `held`');
    const retry = call.retry === undefined ? config.retry : normaliseRetry(call.retry, config.retry);
    const printed = fingerprintFor(call.intent);
    const fp = typeof printed === 'string' ? printed : await printed;
    const share = call.share ?? ((value: T) => value);
    const flightId = call.key === undefined ? fp : `${fp}\u0000${call.key}`;
    // Everything from here to flights.run() is synchronous, so a second submission of
    // the same intent in the same tick finds this one.
    const cached = fromRecent(flightId, share);
    if (cached) return cached;
    const { promise, joined } = flights.run(flightId, async () => {
      const outcome = await run(call, fp, retry);
      if (outcome.final) recent.remember(flightId, outcome.result, outcome.at);
      return outcome;
    });
    if (joined) emit({ type: 'joined', fingerprint: fp });
    // The flight follows its first caller's signal only: a joined caller's own abort ends its own wait.
    const { result } = (await (joined && call.signal ? untilAborted(promise, call.signal) : promise)) as Outcome<T>;
    if (result.ok) return share(result.value);
    // The caller that started the flight aborted (its page detached, its signal fired), not
    // this one: carry on under the same key, kept by that abort, rather than drop the intent.
    const peek = (call as Peeked)[peekSignal];
    if (joined && result.error instanceof SubmissionAbortedError && !(peek ? peek.call(call) : call.signal)?.aborted) return submit(call);
    throw result.error;
  }

  return {
    submit,
    async prepare(intent) {
      const fp = await fingerprintFor(intent);
      const claim = claimKey(fp, undefined);
      // Another tab's attempt in flight is not ours to send: the click will wait for it.
      prepared.set(
        fp,
        claim.then(
          ({ record, busy }) => (busy ? undefined : record),
          () => undefined,
        ),
      );
      return (await claim).record.key;
    },
    async peek(intent) {
      return liveKey(await fingerprintFor(intent));
    },
    async forget(intent) {
      const fp = await fingerprintFor(intent);
      recent.forget((id) => id === fp || id.startsWith(`${fp}\u0000`));
      queued.delete(fp);
      prepared.delete(fp);
      await store.upsert(fp, () => null);
    },
    subscribe: (listener) => events.subscribe(listener),
    async idle() {
      flush();
      while (background.size > 0) await Promise.all([...background]);
    },
  };
}

/** `promise`, or a `SubmissionAbortedError` as soon as `signal` aborts, whichever comes first. */
function untilAborted<V>(promise: Promise<V>, signal: AbortSignal): Promise<V> {
  if (signal.aborted) return Promise.reject(new SubmissionAbortedError(undefined, { cause: signal.reason }));
  return new Promise<V>((resolve, reject) => {
    const onAbort = () => reject(new SubmissionAbortedError(undefined, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function statusOf(verdict: Verdict): { status?: number } {
  return verdict.status === undefined ? {} : { status: verdict.status };
}

/**
 * What `send` gets. A class, not an object literal: a literal's getter is defined anew on
 * each attempt, a cold click's cost; the class's is on its prototype.
 */
class Attempt implements AttemptContext {
  #signal: AbortSignal | undefined;

  constructor(
    readonly key: string,
    readonly attempt: number,
    readonly fingerprint: string,
    signal: AbortSignal | undefined,
  ) {
    this.#signal = signal;
  }

  /** Where nothing can abort the attempt, a signal that never aborts, made only if `send` reads it. */
  get signal(): AbortSignal {
    return (this.#signal ??= new AbortController().signal);
  }

  /**
   * The signal to send an attempt with, or none where nothing can abort it (no caller
   * signal, no timeout), without making one. The attempt knows: an adapter over a shared
   * engine (the `submitter` option, as a prepared click's is) cannot know the engine has no
   * timeout, and read `attempt.signal`, which made an AbortController and sent fetch a signal
   * on every prepared click (docs/client-cost.md, session 26).
   */
  static signalOf(attempt: AttemptContext): AbortSignal | undefined {
    return #signal in attempt ? attempt.#signal : attempt.signal;
  }
}

export const signalOf = Attempt.signalOf;

/**
 * The signal of an attempt with a timeout: the caller's, plus a timeout of its own whose
 * timer the second item, `(ok) => void`, clears once `send` settled. `AbortSignal.timeout` cannot be stopped,
 * and it stays attached to the response body; the caller's signal still aborts the body.
 * `AbortSignal.any` leaves nothing on a long-lived caller signal (the platform drops the
 * link once nothing observes the attempt's signal); by hand, a failed attempt's listener
 * comes off, a successful one's stays until the caller aborts, for the body it may abort.
 */
function timedSignal(caller: AbortSignal | undefined, timeout: number): [AbortSignal, (ok: boolean) => void] {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`the attempt took over ${timeout} ms`, 'TimeoutError')), Math.min(timeout, MAX_TIMER));
  const onAbort = () => controller.abort(caller!.reason);
  const linked = caller && AbortSignal.any?.([caller, controller.signal]);
  if (caller?.aborted) onAbort();
  else if (!linked) caller?.addEventListener('abort', onAbort, { once: true });
  return [
    linked ?? controller.signal,
    (ok) => {
      clearTimeout(timer);
      if (!ok) caller?.removeEventListener('abort', onAbort);
    },
  ];
}
