/**
 * The engine: fingerprint -> resolve key -> persist -> send -> classify -> retry or settle.
 * Adapters (fetch, axios, React, DOM) only translate their world into `submit()` calls.
 */
import { defaultClassifier, type Classifier, type Settled, type Verdict } from './classify.js';
import {
  AmbiguousOutcomeError,
  InvalidKeyError,
  KeyReusedError,
  OutcomeUnknownError,
  SubmissionAbortedError,
} from './errors.js';
import { EventHub, type SubmitEvent, type SubmitEventListener } from './events.js';
import { fallbackStore } from './fallback-store.js';
import { fingerprint, type Intent } from './fingerprint.js';
import { SingleFlight } from './inflight.js';
import { indexedDbStore } from './indexeddb-store.js';
import * as transition from './key-record.js';
import { isValidKey } from '../protocol/key-grammar.js';
import { resolveOptions, type SubmitterOptions } from './options.js';
import { backoffDelay, normaliseRetry, sleep, type RetryInput, type RetryOptions } from './retry.js';
import { settleWindow } from './settle-window.js';
import type { KeyRecord, KeyStore } from './store.js';

export interface AttemptContext {
  /** The idempotency key: send it with the request. */
  key: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts when the caller aborts or the attempt times out. */
  signal: AbortSignal;
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
}

function failed<T>(error: unknown): Outcome<T> {
  return { result: { ok: false, error }, final: false };
}

const SWEEP_INTERVAL = 60_000;

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
  const store: KeyStore = fallbackStore(config.store ?? indexedDbStore(), {
    timeout: config.storageTimeout,
    onDegrade: (error, operation) => emit({ type: 'storage-degraded', operation, error }),
  });
  const flights = new SingleFlight<Outcome<unknown>>();
  const recent = settleWindow(config.settleWindow, config.now);
  const background = new Set<Promise<unknown>>();
  let lastSweep = 0;

  function later(task: () => Promise<unknown>): void {
    const promise = Promise.resolve()
      .then(task)
      .catch(() => undefined)
      .finally(() => background.delete(promise));
    background.add(promise);
  }

  async function fingerprintFor(intent: Intent): Promise<string> {
    return fingerprint({ ...intent, scope: intent.scope ?? config.scope() });
  }

  /** Picks the intent's key and writes it ahead, in one store transaction. */
  async function claimKey(fp: string, explicitKey: string | undefined): Promise<KeyRecord> {
    let source: transition.KeySource = 'new';
    const record = await store.upsert(fp, (stored) => {
      const claimed = transition.claim(stored, fp, config.now(), explicitKey, config);
      source = claimed.source;
      return claimed.record;
    });
    if (source === 'new') emit({ type: 'key-created', key: record.key, fingerprint: fp });
    else emit({ type: 'key-reused', key: record.key, fingerprint: fp, source });
    return record;
  }

  async function run<T>(call: SubmitCall<T>, fp: string, retry: RetryOptions): Promise<Outcome<T>> {
    // Write-ahead: the key is durable before the request can reach the server.
    const record = await claimKey(fp, call.key);
    const classify = (call.classify ?? defaultClassifier) as Classifier<T>;
    const { key } = record;
    let attempt = 0;
    for (;;) {
      attempt += 1;
      if (call.signal?.aborted) return abort(record, attempt - 1, call.signal.reason);
      emit({ type: 'attempt', key, fingerprint: fp, attempt });
      const attemptSignal = signalFor(call.signal, config.timeout);
      let result: Settled<T>;
      try {
        result = { ok: true, value: await call.send({ key, attempt, signal: attemptSignal.signal, fingerprint: fp }) };
      } catch (error) {
        result = { ok: false, error };
      } finally {
        // The timeout bounds the wait for an answer, not the reading of its body: a 201
        // whose body is cut after the key was retired would make the next try a new intent.
        attemptSignal.stopTimer();
      }
      if (call.signal?.aborted) return abort(record, attempt, call.signal.reason);
      let verdict: Verdict;
      try {
        verdict = await classify(result, config.now());
      } catch {
        verdict = result.ok ? { kind: 'success' } : { kind: 'ambiguous' };
      }
      if (verdict.kind === 'ambiguous' && attempt < retry.attempts) {
        const delay = delayFor(verdict, attempt, retry);
        if (delay !== undefined) {
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
      return settle(record, attempt, verdict, result);
    }
  }

  function delayFor(verdict: Verdict & { kind: 'ambiguous' }, attempt: number, retry: RetryOptions): number | undefined {
    if (verdict.retryAfterMs !== undefined) {
      return verdict.retryAfterMs > retry.maxRetryAfter ? undefined : verdict.retryAfterMs;
    }
    return backoffDelay(attempt, retry, config.random);
  }

  /** Writes how the intent ended after the caller has its answer (off the submit path). */
  function write(next: KeyRecord): void {
    later(() => store.set(next));
  }

  function settle<T>(record: KeyRecord, attempts: number, verdict: Verdict, result: Settled<T>): Outcome<T> {
    const { key, fingerprint: fp } = record;
    const now = config.now();
    const status = statusOf(verdict);
    if ((verdict.kind === 'success' || verdict.kind === 'final') && verdict.replayed) {
      emit({ type: 'replayed', key, fingerprint: fp, ...status });
    }
    if (verdict.kind === 'ambiguous') write(transition.keep(record, attempts));
    else if (verdict.kind === 'key-reused') later(() => store.delete(fp));
    // outcome-unknown too: the user is told, so the next click is a new intent.
    else write(transition.settle(record, attempts, now));
    emit({ type: 'settled', key, fingerprint: fp, outcome: verdict.kind, attempts, ...status });
    const cause = result.ok ? undefined : result.error;
    if (verdict.kind === 'key-reused') return failed(new KeyReusedError(key, verdict.status, { cause }));
    if (verdict.kind === 'outcome-unknown') {
      // Final: remembered for the settle window, so a double-click gets this answer too.
      return { ...failed(new OutcomeUnknownError(key, verdict.status, { cause })), final: true };
    }
    if (verdict.kind === 'ambiguous' && !result.ok && verdict.status === undefined) {
      return failed(new AmbiguousOutcomeError(key, attempts, { cause: result.error }));
    }
    // Only final answers are remembered for the settle window; an ambiguous one must be retried.
    return { result, final: verdict.kind !== 'ambiguous' };
  }

  function abort<T>(record: KeyRecord, attempts: number, reason: unknown): Outcome<T> {
    write(transition.abort(record, attempts));
    emit({ type: 'settled', key: record.key, fingerprint: record.fingerprint, outcome: 'aborted', attempts });
    return failed(new SubmissionAbortedError(record.key, { cause: reason }));
  }

  function maybeSweep(): void {
    const now = config.now();
    if (now - lastSweep < SWEEP_INTERVAL) return;
    lastSweep = now;
    later(async () => {
      for (const record of await store.list()) {
        if (!transition.isLive(record, now, config)) await store.delete(record.fingerprint);
      }
    });
  }

  function fromRecent<T>(flightId: string, share: (value: T) => T): Promise<T> | undefined {
    const hit = recent.recall(flightId);
    if (!hit) return undefined;
    return hit.ok ? Promise.resolve(share(hit.value as T)) : Promise.reject(hit.error);
  }

  async function submit<T>(call: SubmitCall<T>): Promise<T> {
    if (call.key !== undefined && !isValidKey(call.key)) throw new InvalidKeyError(call.key);
    const retry = call.retry === undefined ? config.retry : normaliseRetry(call.retry, config.retry);
    const fp = await fingerprintFor(call.intent);
    const share = call.share ?? ((value: T) => value);
    const flightId = call.key === undefined ? fp : `${fp}\u0000${call.key}`;
    // Everything from here to flights.run() is synchronous, so a second submission of
    // the same intent in the same tick finds this one.
    const cached = fromRecent(flightId, share);
    if (cached) return cached;
    const { promise, joined } = flights.run(flightId, async () => {
      let outcome: Outcome<T>;
      try {
        outcome = config.locks
          ? await config.locks.request(`submit-once:${fp}`, call.signal ? { signal: call.signal } : {}, () => run(call, fp, retry))
          : await run(call, fp, retry);
      } catch (error) {
        // Only the lock request can throw here (aborted while waiting for another tab).
        outcome = failed(error);
      }
      if (outcome.final) recent.remember(flightId, outcome.result);
      maybeSweep();
      return outcome;
    });
    if (joined) emit({ type: 'joined', fingerprint: fp });
    const { result } = (await promise) as Outcome<T>;
    if (result.ok) return share(result.value);
    throw result.error;
  }

  return {
    submit,
    async prepare(intent) {
      const fp = await fingerprintFor(intent);
      return (await claimKey(fp, undefined)).key;
    },
    async peek(intent) {
      const fp = await fingerprintFor(intent);
      const stored = await store.get(fp);
      return stored && transition.isLive(stored, config.now(), config) ? stored.key : undefined;
    },
    async forget(intent) {
      const fp = await fingerprintFor(intent);
      recent.forget((id) => id === fp || id.startsWith(`${fp}\u0000`));
      await store.delete(fp);
    },
    subscribe: (listener) => events.subscribe(listener),
    async idle() {
      while (background.size > 0) await Promise.all([...background]);
    },
  };
}

function statusOf(verdict: Verdict): { status?: number } {
  return verdict.status === undefined ? {} : { status: verdict.status };
}

/**
 * The signal an attempt is sent with: the caller's, plus a timeout of its own whose timer
 * `stopTimer()` clears once `send` settled. `AbortSignal.timeout` cannot be stopped, and
 * it stays attached to the response body; the caller's signal still aborts the body.
 */
function signalFor(caller: AbortSignal | undefined, timeout: number | undefined): { signal: AbortSignal; stopTimer: () => void } {
  if (timeout === undefined) return { signal: caller ?? new AbortController().signal, stopTimer: () => undefined };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`the attempt took over ${timeout} ms`, 'TimeoutError')), timeout);
  if (caller?.aborted) controller.abort(caller.reason);
  else caller?.addEventListener('abort', () => controller.abort(caller.reason), { once: true });
  return { signal: controller.signal, stopTimer: () => clearTimeout(timer) };
}
