import type { ServerResponse } from 'node:http';
import { activeCapture, captureMayNeverEnd, ResponseCapture, settlesLater, type CapturedResponse, type ReplaceAnswer, type Settled } from './capture.js';
import { eventScope, type Claimed } from './claimed.js';
import type { IdempotencyEvent } from './events.js';
import type { HeldLease } from './lease-keeper.js';
import { isUncertainOutcomeError, leavesOutcomeUnknown } from './outcome.js';
import { isPreconditionRefusal } from './precondition-refusals.js';
import type { Proceed, RequestContext } from './request-context.js';
import { sendOutcomeUnknown, sendProblem } from './respond.js';
import type { ClaimResult, SettleRequest } from './stores/types.js';

/** A claim the store granted: the run's token and counts. */
type Granted = Extract<ClaimResult, { status: 'claimed' }>;

/**
 * One claimed run, from start to its settlement: renew the lease while the handler runs,
 * then complete (store the response), release (it threw or answered 5xx before any
 * effect) or mark unknown (it said it cannot tell), each fenced by the run's token.
 */
export function execute(ctx: RequestContext, claimed: Claimed, granted: Granted): void {
  const { executions, rerun } = granted;
  const auditTicket = ctx.audit.executed(claimed.storageKey, claimed, executions, rerun);
  const guarded = new GuardedRun(ctx, claimed, granted.token, auditTicket);
  ctx.tell?.({ ...eventScope(claimed), type: 'executed', executions, rerun });
  // Renewed until the handler settles, whatever the client does: a client that goes away
  // must not free a key whose handler is still running (its retry would run it twice).
  ctx.leases.hold(guarded);
  guarded.capture();
  invoke(ctx.proceed, guarded);
}

/**
 * Behind Express a handler's throw goes to Express's error handlers, not to `invoke`: an
 * error that reaches the middleware's `errorHandler` is handed to the run of `res`, as
 * `invoke` would, when it is an `UncertainOutcomeError` (true: answered here), or when the
 * run's head already went out: then no later handler can answer the 5xx that frees the
 * key, and the run would stay in flight until `maxRunMs`, then unknown (false: the error
 * still goes on, for the app's own handlers to log). False, and nothing done, when `res`
 * has no run still waiting for its answer.
 */
export function handOverError(error: unknown, res: ServerResponse): boolean {
  const uncertain = isUncertainOutcomeError(error);
  // A hang-up's error goes to the run before an app's handler answers the 5xx that would free the key.
  if (!uncertain && !res.headersSent && !hungUpOn(res, error)) return false;
  const run = activeCapture(res);
  if (!(run instanceof GuardedRun) || run.answered) return false;
  run.threw(error);
  return uncertain;
}

/**
 * The state of one run, as one object: its lease, the capture of its answer (the base
 * class) and what its handler threw.
 */
class GuardedRun extends ResponseCapture implements HeldLease, ThrowTarget {
  readonly storageKey: string;
  readonly token: string;
  startedAt = 0;
  #outcome: 'answered' | 'threw' | 'uncertain' = 'answered';
  /** The handler's `end` came: its answer is whole, whatever it does after. */
  #ended = false;
  /** The handler cut its answer off before its end (`cutOff`): the key was marked unknown then. */
  #cut = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly run: Claimed,
    token: string,
    /** What the audit records this run's completion by (`Audit.completed`). */
    private readonly auditTicket: number,
  ) {
    super(ctx.res);
    this.storageKey = run.storageKey;
    this.token = token;
  }

  /** The handler's answer is whole: its `end` came. */
  get answered(): boolean {
    return this.#ended;
  }

  /** Starts capturing the run's answer. */
  capture(): void {
    const { opts } = this.ctx;
    // A transactional store's failed commit replaces the answer (`notCommitted`).
    this.captureResponse(opts.maxResponseBytes, opts.replayHeaders, opts.store.transactional === true);
  }

  lost(): void {
    // Out of the keeper, it is never found overdue: a run that never ends must not be kept for ever.
    captureMayNeverEnd(this.res);
  }

  overdue(): void {
    captureMayNeverEnd(this.res);
    this.#emit({ ...eventScope(this.run), type: 'run-overdue', maxRunMs: this.ctx.opts.maxRunMs });
  }

  threw(error: unknown): void {
    // A throw after the end changes nothing: the answer is being stored and goes out as
    // with any store (cutting it off would leave the caller without the answer it was given).
    if (this.#ended) return;
    // Cut off and marked unknown already; under `recovery` still held: unknown, as a throw after the head could free it.
    if (this.#cut && !this.ctx.opts.recovery) return;
    const { res } = this;
    this.#outcome = this.#cut || isUncertainOutcomeError(error) || hungUpOn(res, error) ? 'uncertain' : 'threw';
    if (!res.headersSent) {
      if (this.#outcome === 'uncertain') sendOutcomeUnknown(res);
      else sendProblem(res, 'handler-failed', 'The request failed before completing; it may be retried with the same key.');
      return;
    }
    this.ctx.leases.release(this);
    captureMayNeverEnd(res);
    void (this.#outcome === 'uncertain' ? this.#markUnknown() : this.#release('threw'));
    res.destroy(error instanceof Error ? error : undefined);
  }

  /**
   * The handler destroyed its answer's connection before its end, its caller still there:
   * the caller gets no answer and the effect may have happened, so the key turns unknown
   * now, not once `maxRunMs` and the lease ran out (409 to every retry until then). An
   * `outcome` already set (a throw after the head: its own destroy) stays. Under
   * `recovery` an unknown key is run again, and a cut does not end the handler (a socket
   * timeout, a destroy it goes on after): the key stays in flight, its lease held, until
   * the handler's end, its throw or `maxRunMs`, and turns unknown only then. A
   * transactional store is left alone: marking the key unknown rolls back the handler's
   * transaction and gives its connection back to the pool while the handler still holds
   * it (its later statements then commit on their own, a torn write); its end commits the
   * rows and the answer together, for the retry to replay, as before the cut watch.
   */
  protected cutOff(): void {
    if (this.#outcome !== 'answered' || this.ctx.opts.store.transactional === true) return;
    this.#cut = true;
    this.#outcome = 'uncertain';
    if (this.ctx.opts.recovery) return;
    this.ctx.leases.release(this);
    captureMayNeverEnd(this.res);
    void this.#markUnknown();
  }

  settle(captured: CapturedResponse): Settled {
    this.#ended = true;
    // An end after the cut: nothing reached the caller through it, and the key is unknown already (under `recovery`: now).
    if (this.#cut && !this.ctx.opts.recovery) return;
    const { opts } = this.ctx;
    const { storageKey, fingerprint } = this.run;
    const { token } = this;
    this.ctx.leases.release(this);
    if (this.#outcome === 'uncertain' || leavesOutcomeUnknown(this.res)) return this.#markUnknown();
    if (this.#outcome === 'threw' || (captured.status >= 500 && opts.releaseOn5xx)) return this.#release(this.#outcome === 'threw' ? 'threw' : 'server-error');
    // checkIfMatch's refusal, made before the update: stored, it would be replayed to the
    // same key sent again over the version read since, naming that version as current.
    if ((captured.status === 412 || captured.status === 428) && isPreconditionRefusal(this.res)) return this.#release('precondition-failed');
    if (captured.omittedBodyBytes !== undefined) {
      this.#emit({ ...eventScope(this.run), type: 'response-not-stored', bytes: captured.omittedBodyBytes, limit: opts.maxResponseBytes });
    }
    const request = { key: storageKey, token, fingerprint, response: captured, retentionMs: opts.ttl, now: opts.now() };
    const { sync } = opts.store;
    if (sync?.complete === undefined) {
      // One promise while the store commits (a file store's fdatasync, a Redis round
      // trip), its handlers closing over the status alone: not the captured answer, the
      // request to the store nor a second promise for the capture to wait on.
      const { status } = captured;
      opts.store.complete(request).then(
        (stored) => this.finishLater(() => this.#completed(stored, status)),
        (error: unknown) => this.finishLater(() => this.#notCompleted(error)),
      );
      return settlesLater;
    }
    let stored: boolean;
    try {
      stored = sync.complete(request);
    } catch (error) {
      return this.#notCompleted(error);
    }
    return this.#completed(stored, captured.status);
  }

  #completed(stored: boolean, status: number): void | ReplaceAnswer {
    const { opts, audit } = this.ctx;
    const { storageKey } = this.run;
    if (stored) {
      audit.completed(storageKey, this.run, status, this.auditTicket);
      this.ctx.tell?.({ ...eventScope(this.run), type: 'completed', status });
      return;
    }
    this.#emit({ ...eventScope(this.run), type: 'lease-lost' });
    if (opts.store.transactional === true) return notCommitted;
  }

  /**
   * The handler ran and the caller gets its answer, but nothing records that: the claim
   * stays running, and once its lease runs out the key answers outcome-unknown (unless
   * the store sends the completion again: Redis's, for a call that failed with its connection).
   */
  #notCompleted(error: unknown): void | ReplaceAnswer {
    this.#emit({ ...eventScope(this.run), type: 'store-error', error });
    if (this.ctx.opts.store.transactional === true) return notCommitted;
  }

  async #markUnknown(): Promise<void> {
    const scope = eventScope(this.run);
    this.#emit({ ...scope, type: 'outcome-unknown', at: 'run' });
    await this.ctx.opts.store.markUnknown(this.#settleRequest()).catch((error: unknown) => {
      // The claim then turns unknown on its own once its lease runs out.
      this.#emit({ ...scope, type: 'store-error', error });
    });
  }

  async #release(reason: 'threw' | 'server-error' | 'precondition-failed'): Promise<void> {
    const scope = eventScope(this.run);
    await this.ctx.opts.store.release(this.#settleRequest()).then(
      // False: the token no longer holds the key (its answer was already stored, as when
      // the handler threw after its end went out): nothing was freed, so nothing to tell.
      (released) => released && this.#emit({ ...scope, type: 'released', reason }),
      (error: unknown) => this.#emit({ ...scope, type: 'store-error', error }),
    );
  }

  #settleRequest(): SettleRequest {
    return { key: this.run.storageKey, token: this.token, retentionMs: this.ctx.opts.ttl, now: this.ctx.opts.now() };
  }

  #emit(event: IdempotencyEvent): void {
    this.ctx.emit(this.run.storageKey, event);
  }
}

/**
 * The transactional store could not commit, or not confirm its commit in time: the
 * handler's writes went with the claim either way, so its success answer cannot be given.
 * The retry with the same key replays the answer if the commit took effect and runs
 * cleanly if not; once the head has gone out, only a dropped connection can say so.
 */
const notCommitted: ReplaceAnswer = (res) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The handler's headers describe an answer that did not happen; CORS stays, so a browser can read this one.
  for (const name of res.getHeaderNames()) if (!name.startsWith('access-control-')) res.removeHeader(name);
  sendProblem(res, 'store-unavailable', 'The outcome could not be committed, or its commit not confirmed; retry with the same key: it replays a committed outcome and runs again if nothing was committed.', {
    headers: { 'Retry-After': '1' },
  });
};

/** The codes of what sending to a caller that hung up fails with (`pipeline`, `sendFile`, a socket write). */
const HANG_UP_CODES: ReadonlySet<unknown> = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ECONNABORTED', 'ECONNRESET', 'EPIPE']);

/**
 * Whether `error` is the caller's hang-up, met while the handler sent its answer (before
 * or after its head went out): it reached the sending, after its effect (a receipt piped
 * to a caller that timed out during a slow charge, or hung up mid-download), so the key
 * must turn unknown: freed, the retry would run the effect again. Another error thrown
 * once the caller is gone (the database down) still frees it.
 */
function hungUpOn(res: ServerResponse, error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !HANG_UP_CODES.has((error as { code?: unknown }).code)) return false;
  // Destroyed before its end; on HTTP/2's compatibility API it is the response's stream that is.
  return res.destroyed || (res as { stream?: { destroyed?: boolean } }).stream?.destroyed === true;
}

/** Told what the application threw, or what its promise rejected with. */
export interface ThrowTarget {
  threw(error: unknown): void;
}

/** Runs the application; `target.threw` gets what it throws or its promise rejects with. */
export function invoke(proceed: Proceed, target: ThrowTarget): void {
  try {
    const result = proceed();
    if (isPromiseLike(result)) result.then(undefined, (error: unknown) => target.threw(error));
  } catch (error) {
    target.threw(error);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
