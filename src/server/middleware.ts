import type { IncomingMessage, ServerResponse } from 'node:http';
import { Audit, type AuditSnapshot } from './audit.js';
import { BodyTooLargeError, readBody } from './body.js';
import { captureResponse, type CapturedResponse } from './capture.js';
import { applyCors, REPLAYED_HEADER } from './cors.js';
import type { EventScope, IdempotencyEvent } from './events.js';
import { isJsonTooDeepError, payloadFingerprint } from './fingerprint.js';
import { keyHeaderOf, parseIdempotencyKey } from './key.js';
import { requestPath, requestQuery, resolveOptions, type IdempotencyOptions, type ResolvedOptions } from './options.js';
import { isUncertainOutcomeError } from './outcome.js';
import { sendProblem, type ProblemCode } from './problems.js';
import { serveStats } from './stats-endpoint.js';
import type { IdempotencyStore, Rerun, StoredResponse } from './stores/types.js';

/** What a guarded run knows about its key; handlers that dedupe by key read it. */
export interface IdempotencyContext {
  /** The idempotency key as parsed (a quoted key unquoted). */
  readonly key: string;
  /** The principal the key belongs to; undefined when it has none (no credentials, or `principal: false`). */
  readonly principal: string | undefined;
  /**
   * True when an earlier run of this key may have taken effect (its outcome was unknown)
   * and this run took over (`recovery: true`): look the effect up by (principal, key) first.
   */
  readonly recovery: boolean;
}

/** A request as handlers see it behind the middleware: the body has been read already. */
export interface IdempotentRequest extends IncomingMessage {
  /** Parsed JSON for JSON content types, else the raw bytes; kept as is when a body parser ran first. */
  body?: unknown;
  /** The exact bytes received, when the middleware read the body itself. */
  rawBody?: Buffer;
  /** Set on every guarded run (a request that claimed its key); absent on unguarded requests. */
  idempotency?: IdempotencyContext;
}

export type NextFunction = (error?: unknown) => void;
export type RequestHandler = (req: IdempotentRequest, res: ServerResponse) => unknown;

/** Express/Connect middleware with a wrapper for plain `node:http` handlers and the audit. */
export interface IdempotencyMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** Wraps a `node:http` request handler: `http.createServer(mw.handler(app))`. */
  handler(handler: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void;
  /** Counters and per-key records since start or the last reset. */
  stats(): AuditSnapshot;
  resetStats(): void;
  readonly store: IdempotencyStore;
  /** Closes the store. */
  close(): Promise<void>;
}

const RETRY_AFTER_SECONDS = '1';

/**
 * Makes POST and PATCH requests that carry an `Idempotency-Key` take effect once: the
 * first claims the key and runs the handler, later ones with the same key and payload
 * get the stored response replayed with `Idempotent-Replayed: true`.
 *
 * @example
 * app.use(express.json(), idempotency({ principal: (req) => req.user?.id }));
 * http.createServer(idempotency().handler(myHandler));
 */
export function idempotency(options: IdempotencyOptions = {}): IdempotencyMiddleware {
  const opts = resolveOptions(options);
  const audit = new Audit(opts.auditLimit);

  const emit = (storageKey: string | undefined, event: IdempotencyEvent): void => {
    audit.record(storageKey, event);
    try {
      opts.onEvent?.(event);
    } catch {
      // A failing listener must not turn into a failed request.
    }
  };

  const stats = (): AuditSnapshot => audit.snapshot();
  const resetStats = (): void => audit.reset();

  const run = (req: IncomingMessage, res: ServerResponse, proceed: Proceed): void => {
    guard(req, res, proceed, opts, audit, emit, { stats, resetStats }).catch((error: unknown) => {
      // Only reached on a bug; answer rather than leave the socket hanging.
      if (!res.headersSent) sendProblem(res, 'handler-failed', 'The idempotency middleware failed unexpectedly.');
      else res.destroy(error instanceof Error ? error : undefined);
    });
  };

  const middleware = ((req: IncomingMessage, res: ServerResponse, next: NextFunction) => {
    run(req, res, () => next());
  }) as IdempotencyMiddleware;

  middleware.handler = (handler: RequestHandler) => (req: IncomingMessage, res: ServerResponse) => {
    run(req, res, () => handler(req as IdempotentRequest, res));
  };
  middleware.stats = stats;
  middleware.resetStats = resetStats;
  Object.defineProperty(middleware, 'store', { value: opts.store, enumerable: true });
  middleware.close = () => opts.store.close();
  return middleware;
}

type Proceed = () => unknown;
type Emit = (storageKey: string | undefined, event: IdempotencyEvent) => void;

async function guard(
  req: IncomingMessage,
  res: ServerResponse,
  proceed: Proceed,
  opts: ResolvedOptions,
  audit: Audit,
  emit: Emit,
  statsApi: { stats(): AuditSnapshot; resetStats(): void },
): Promise<void> {
  if (opts.cors !== undefined && applyCors(req, res, opts.cors, opts.header)) return;
  if (opts.statsPath !== undefined && requestPath(req) === opts.statsPath && serveStats(req, res, statsApi)) return;

  const method = (req.method ?? 'GET').toUpperCase();
  if (!opts.methods.has(method)) return runUnguarded(res, proceed);
  audit.countRequest();
  const route = opts.route(req);

  const reject = (problem: ProblemCode, detail: string): void => {
    emit(undefined, { type: 'rejected', problem, method, route });
    sendProblem(res, problem, detail);
  };

  const rawKey = keyHeaderOf(req, opts.headerLower);
  if (rawKey === undefined) {
    if (!opts.required) return runUnguarded(res, proceed);
    return reject('key-missing', `${method} ${route} requires an ${opts.header} header.`);
  }
  if (rawKey === 'many') return reject('key-malformed', `The request carries more than one ${opts.header} header.`);
  const parsed = parseIdempotencyKey(rawKey);
  if (!parsed.ok) return reject('key-malformed', `The ${opts.header} header is malformed: ${parsed.reason}.`);

  let body: unknown;
  try {
    body = await requestBody(req as IdempotentRequest, opts.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      res.setHeader('Connection', 'close');
      return reject('body-too-large', `The request body exceeds ${error.limit} bytes.`);
    }
    // The client went away mid-body: nothing to answer.
    res.destroy();
    return;
  }

  let fingerprint: string;
  try {
    fingerprint = payloadFingerprint({ method, path: requestPath(req), query: requestQuery(req), body });
  } catch (error) {
    if (isJsonTooDeepError(error)) return reject('body-too-deep', `The JSON body is nested deeper than ${error.limit} levels.`);
    throw error;
  }

  const principal = await opts.principal?.(req);
  const scope: EventScope = principal === undefined ? { key: parsed.key, method, route } : { key: parsed.key, principal, method, route };
  // JSON keeps the four parts apart whatever characters they contain.
  const storageKey = JSON.stringify([principal ?? null, method, route, parsed.key]);

  let claim;
  try {
    claim = await opts.store.claim({
      key: storageKey,
      fingerprint,
      leaseMs: opts.leaseMs,
      retentionMs: opts.ttl,
      now: opts.now(),
      recover: opts.recovery,
    });
  } catch (error) {
    // Fail closed: running the handler without a claim could run it twice.
    emit(storageKey, { ...scope, type: 'store-error', error });
    sendProblem(res, 'store-unavailable', 'The idempotency store cannot be reached; retry with the same key.', {
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
    });
    return;
  }

  if (claim.status !== 'claimed' && claim.fingerprint !== fingerprint) {
    emit(storageKey, { ...scope, type: 'mismatch' });
    sendProblem(res, 'key-reused', `This ${opts.header} was already used for a request with a different payload.`);
    return;
  }
  if (claim.status === 'in-progress') {
    emit(storageKey, { ...scope, type: 'conflict' });
    sendProblem(res, 'request-in-progress', 'A request with this key is still being processed; retry later.', {
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
    });
    return;
  }
  if (claim.status === 'unknown') {
    emit(storageKey, { ...scope, type: 'outcome-unknown', at: 'claim', executions: claim.executions });
    sendOutcomeUnknown(res);
    return;
  }
  if (claim.status === 'completed') {
    emit(storageKey, { ...scope, type: 'replayed', status: claim.response.status, executions: claim.executions });
    replay(res, claim.response);
    return;
  }
  (req as IdempotentRequest).idempotency = { key: parsed.key, principal, recovery: claim.rerun === 'recovery' };
  const run: Run = { storageKey, token: claim.token, fingerprint, scope, executions: claim.executions, rerun: claim.rerun };
  execute(res, proceed, opts, emit, run);
}

/** One guarded run: its key, its claim, and where its events go. */
interface Run {
  readonly storageKey: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly scope: EventScope;
  readonly executions: number;
  readonly rerun: Rerun;
}

function sendOutcomeUnknown(res: ServerResponse): void {
  sendProblem(
    res,
    'outcome-unknown',
    'An earlier request with this key may or may not have taken effect, and it cannot be found out here; it is not run again. Check its effect before trying again with a new key.',
  );
}

function execute(res: ServerResponse, proceed: Proceed, opts: ResolvedOptions, emit: Emit, run: Run): void {
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

  const settle = async (captured: CapturedResponse): Promise<void> => {
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
    } catch (error) {
      // The handler ran and the caller gets its answer, but nothing records that: the
      // claim stays running, and once its lease runs out the key answers outcome-unknown.
      emit(storageKey, { ...scope, type: 'store-error', error });
    }
  };
  captureResponse(res, opts.maxResponseBytes, settle);

  const onThrow = (error: unknown): void => {
    outcome = isUncertainOutcomeError(error) ? 'uncertain' : 'threw';
    if (!res.headersSent) {
      if (outcome === 'uncertain') sendOutcomeUnknown(res);
      else sendProblem(res, 'handler-failed', 'The request failed before completing; it may be retried with the same key.');
      return;
    }
    lease.stop();
    void (outcome === 'uncertain' ? markUnknown() : release('threw'));
    res.destroy(error instanceof Error ? error : undefined);
  };
  try {
    const result = proceed();
    if (isPromiseLike(result)) result.then(undefined, onThrow);
  } catch (error) {
    onThrow(error);
  }
}

function runUnguarded(res: ServerResponse, proceed: Proceed): void {
  const onThrow = (): void => {
    if (!res.headersSent) sendProblem(res, 'handler-failed', 'The request failed.');
    else res.destroy();
  };
  try {
    const result = proceed();
    if (isPromiseLike(result)) result.then(undefined, onThrow);
  } catch {
    onThrow();
  }
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

async function requestBody(req: IdempotentRequest, limit: number): Promise<unknown> {
  // An Express body parser already ran: its result is the payload.
  if (req.body !== undefined) return req.body;
  if (req.readableEnded) return undefined;
  const raw = await readBody(req, limit);
  req.rawBody = raw;
  req.body = isJson(req.headers['content-type']) ? parseJsonOr(raw) : raw.length > 0 ? raw : undefined;
  // The parsed value fingerprints like the raw JSON it came from, without parsing it twice.
  return req.body === undefined || Buffer.isBuffer(req.body) ? raw : req.body;
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/([\w.+-]*\+)?json\b/i.test(contentType);
}

function parseJsonOr(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return raw;
  }
}

function toStoredResponse(captured: CapturedResponse, allowed: ReadonlySet<string>): StoredResponse {
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(captured.headers)) if (allowed.has(name)) headers[name] = value;
  const body = captured.body ?? Buffer.alloc(0);
  return captured.body === undefined
    ? { status: captured.status, headers, body, omittedBodyBytes: captured.bodyBytes }
    : { status: captured.status, headers, body };
}

function replay(res: ServerResponse, response: StoredResponse): void {
  if (response.omittedBodyBytes !== undefined) {
    sendProblem(
      res,
      'response-not-stored',
      `The request with this key already took effect (status ${response.status}), but its ${response.omittedBodyBytes}-byte response was over the storage limit and was not kept. It is not run again.`,
      { headers: { [REPLAYED_HEADER]: 'true' }, extensions: { originalStatus: response.status } },
    );
    return;
  }
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader(REPLAYED_HEADER, 'true');
  if (response.status !== 204 && response.status !== 304) res.setHeader('Content-Length', response.body.byteLength);
  res.end(response.body);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
