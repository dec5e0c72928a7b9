import { captureResponse, type CapturedResponse, type ReplaceAnswer } from './capture.js';
import type { EventScope } from './events.js';
import type { ResolvedOptions } from './options.js';
import { isUncertainOutcomeError } from './outcome.js';
import type { Proceed, RequestContext } from './request-context.js';
import { sendOutcomeUnknown, sendProblem } from './respond.js';
import type { Rerun, StoredResponse } from './stores/types.js';

/** One guarded run: its key, its claim, and where its events go. */
export interface Run {
  readonly storageKey: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly scope: EventScope;
  readonly executions: number;
  readonly rerun: Rerun;
}

/**
 * One claimed run, from start to its settlement: renew the lease while the handler runs,
 * then complete (store the response), release (it threw or answered 5xx before any
 * effect) or mark unknown (it said it cannot tell), each fenced by the run's token.
 */
export function execute(ctx: RequestContext, run: Run): void {
  const { res, opts, emit } = ctx;
  const { storageKey, token, fingerprint, scope } = run;
  emit(storageKey, { ...scope, type: 'executed', executions: run.executions, rerun: run.rerun });
  // Renewed until the handler settles, whatever the client does: a client that goes away
  // must not free a key whose handler is still running (its retry would run it twice).
  const lease = renewLease(opts, storageKey, token, () => emit(storageKey, { ...scope, type: 'run-overdue', maxRunMs: opts.maxRunMs }));
  let outcome: 'answered' | 'threw' | 'uncertain' = 'answered';
  const settleRequest = () => ({ key: storageKey, token, retentionMs: opts.ttl, now: opts.now() });

  const markUnknown = async (): Promise<void> => {
    emit(storageKey, { ...scope, type: 'outcome-unknown', at: 'run' });
    await opts.store.markUnknown(settleRequest()).catch((error: unknown) => {
      // The claim then turns unknown on its own once its lease runs out.
      emit(storageKey, { ...scope, type: 'store-error', error });
    });
  };
  const release = async (reason: 'threw' | 'server-error'): Promise<void> => {
    await opts.store.release(settleRequest()).then(
      () => emit(storageKey, { ...scope, type: 'released', reason }),
      (error: unknown) => emit(storageKey, { ...scope, type: 'store-error', error }),
    );
  };

  const settle = async (captured: CapturedResponse): Promise<void | ReplaceAnswer> => {
    lease.stop();
    if (outcome === 'uncertain') return markUnknown();
    if (outcome === 'threw' || (captured.status >= 500 && opts.releaseOn5xx)) return release(outcome === 'threw' ? 'threw' : 'server-error');
    if (captured.body === undefined) {
      emit(storageKey, { ...scope, type: 'response-not-stored', bytes: captured.bodyBytes, limit: opts.maxResponseBytes });
    }
    try {
      const stored = await opts.store.complete({
        key: storageKey,
        token,
        fingerprint,
        response: toStoredResponse(captured, opts.replayHeaders),
        retentionMs: opts.ttl,
        now: opts.now(),
      });
      emit(storageKey, stored ? { ...scope, type: 'completed', status: captured.status } : { ...scope, type: 'lease-lost' });
      if (!stored && opts.store.transactional === true) return notCommitted;
    } catch (error) {
      // The handler ran and the caller gets its answer, but nothing records that: the
      // claim stays running, and once its lease runs out the key answers outcome-unknown.
      emit(storageKey, { ...scope, type: 'store-error', error });
      if (opts.store.transactional === true) return notCommitted;
    }
  };
  captureResponse(res, opts.maxResponseBytes, settle);

  invoke(ctx.proceed, (error) => {
    outcome = isUncertainOutcomeError(error) ? 'uncertain' : 'threw';
    if (!res.headersSent) {
      if (outcome === 'uncertain') sendOutcomeUnknown(res);
      else sendProblem(res, 'handler-failed', 'The request failed before completing; it may be retried with the same key.');
      return;
    }
    lease.stop();
    void (outcome === 'uncertain' ? markUnknown() : release('threw'));
    res.destroy(error instanceof Error ? error : undefined);
  });
}

/**
 * Keeps the lease alive while the handler runs, so a slow handler is not taken over, for
 * at most `maxRunMs`: a handler that never ends must not hold its key for ever. Past it
 * the lease runs out and the key turns unknown (never free: the handler may still act).
 */
function renewLease(opts: ResolvedOptions, key: string, token: string, onOverdue: () => void): { stop(): void } {
  const timer = setInterval(() => {
    opts.store.renew({ key, token, leaseMs: opts.leaseMs, now: opts.now() }).then(
      (held) => {
        if (!held) stop();
      },
      () => {
        // A store hiccup: the next tick tries again, the lease covers the gap.
      },
    );
  }, Math.max(10, Math.floor(opts.leaseMs / 2)));
  timer.unref();
  const overdue = setTimeout(() => {
    stop();
    onOverdue();
  }, opts.maxRunMs);
  overdue.unref();
  const stop = (): void => {
    clearInterval(timer);
    clearTimeout(overdue);
  };
  return { stop };
}

/**
 * The transactional store could not commit: the handler's writes were rolled back with
 * the claim, so its success answer would be a lie. The retry with the same key runs
 * cleanly; once the head has gone out, only a dropped connection can say so.
 */
const notCommitted: ReplaceAnswer = (res) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The handler's headers describe an answer that did not happen; CORS stays, so a browser can read this one.
  for (const name of res.getHeaderNames()) if (!name.startsWith('access-control-')) res.removeHeader(name);
  sendProblem(res, 'store-unavailable', 'The request was rolled back because its outcome could not be committed; retry with the same key.', {
    headers: { 'Retry-After': '1' },
  });
};

function toStoredResponse(captured: CapturedResponse, allowed: ReadonlySet<string>): StoredResponse {
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(captured.headers)) if (allowed.has(name)) headers[name] = value;
  const body = captured.body ?? Buffer.alloc(0);
  return captured.body === undefined
    ? { status: captured.status, headers, body, omittedBodyBytes: captured.bodyBytes }
    : { status: captured.status, headers, body };
}

/** Runs the application; `onThrow` gets what it throws or its promise rejects with. */
export function invoke(proceed: Proceed, onThrow: (error: unknown) => void): void {
  try {
    const result = proceed();
    if (isPromiseLike(result)) result.then(undefined, onThrow);
  } catch (error) {
    onThrow(error);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
