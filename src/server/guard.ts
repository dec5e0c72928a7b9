/**
 * One request through the middleware, up to its claim: CORS and the audit endpoint, the
 * key, the body and its payload fingerprint, the principal, then the store's claim, which
 * decides between running the handler (`execute`), replaying (`replay`) and a problem.
 */
import { isPayloadTooDeepError, parseKey, type ProblemCode } from '../protocol/index.js';
import { applyCors } from './cors.js';
import type { EventScope } from './events.js';
import { execute, invoke } from './execute.js';
import { payloadFingerprint } from './fingerprint.js';
import type { IdempotentRequest } from './middleware.js';
import { headerLines } from './header-lines.js';
import { requestPath, requestQuery } from './options.js';
import { replay } from './replay.js';
import type { RequestContext } from './request-context.js';
import { setRunContext } from './run-context.js';
import { BodyTooLargeError, readPayload } from './request-body.js';
import { sendOutcomeUnknown, sendProblem } from './respond.js';
import { serveStats } from './stats-endpoint.js';
import { storageKeyOf } from './storage-key.js';
import { refuseExpiredToken } from './token-claim.js';

const RETRY_AFTER_SECONDS = '1';

/** Guards one request; settles once it is answered or handed to the handler (rejects only on a bug). */
export async function guard(ctx: RequestContext): Promise<void> {
  const { req, res, opts, audit, emit } = ctx;
  if (opts.cors !== undefined && applyCors(req, res, opts.cors, opts.header)) return;
  if (opts.statsPath !== undefined && requestPath(req) === opts.statsPath) {
    if (serveStats(req, res, { stats: () => audit.snapshot(), resetStats: () => audit.reset() })) return;
  }

  const method = (req.method ?? 'GET').toUpperCase();
  if (!opts.methods.has(method)) return runUnguarded(ctx);
  audit.countRequest();
  const path = requestPath(req);
  const route = opts.route === requestPath ? path : opts.route(req);

  // Each header line apart: Node would join two lines with ", " (and `a` plus an empty
  // line into `a,`), and two keys are refused rather than one picked.
  const lines = headerLines(req, opts.headerLower);
  if (lines === undefined || lines.length === 0) {
    if (!opts.required) return runUnguarded(ctx);
    return rejectRequest(ctx, method, route, 'key-missing', `${method} ${route} requires an ${opts.header} header.`);
  }
  if (lines.length > 1) return rejectRequest(ctx, method, route, 'key-malformed', `The request carries more than one ${opts.header} header.`);
  const parsed = parseKey(lines[0]!);
  if (!parsed.ok) return rejectRequest(ctx, method, route, 'key-malformed', `The ${opts.header} header is malformed: ${parsed.reason}.`);

  let body: unknown;
  try {
    // A body a parser (Express) already read is taken as it is, without an await.
    body = (req as IdempotentRequest).body ?? (await readPayload(req as IdempotentRequest, opts.maxBodyBytes));
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      res.setHeader('Connection', 'close');
      return rejectRequest(ctx, method, route, 'body-too-large', `The request body exceeds ${error.limit} bytes.`);
    }
    // The client went away mid-body: nothing to answer.
    res.destroy();
    return;
  }

  let fingerprint: string;
  try {
    fingerprint = payloadFingerprint({ method, path, query: requestQuery(req), body, contentType: req.headers['content-type'] });
  } catch (error) {
    if (isPayloadTooDeepError(error)) return rejectRequest(ctx, method, route, 'body-too-deep', `The JSON body is ${error.message}.`);
    throw error;
  }

  const resolved = opts.principal?.(req);
  // Awaited only when it is a promise: each await is a turn of the microtask queue.
  const principal = resolved instanceof Promise ? await resolved : resolved;
  // Token mode (issue 13): a key this server did not sign for this caller never reaches the store.
  const token = opts.tokens?.check(parsed.key, principal, opts.now());
  if (token && !token.ok) return rejectRequest(ctx, method, route, token.problem, token.detail);
  const scope: EventScope = principal === undefined ? { key: parsed.key, method, route } : { key: parsed.key, principal, method, route };
  const storageKey = storageKeyOf(principal, method, route, parsed.key);

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
    audit.replayed(storageKey, scope, claim.response.status, claim.executions);
    ctx.tell?.({ ...scope, type: 'replayed', status: claim.response.status, executions: claim.executions });
    replay(res, claim.response);
    return;
  }
  // An expired token may replay (above) but not run: its fresh claim is handed back.
  if (token?.expired) return refuseExpiredToken(ctx, storageKey, claim.token, () => rejectRequest(ctx, method, route, 'token-expired', 'The token expired before its first use; fetch a new one.'));
  setRunContext(req, { key: parsed.key, principal, recovery: claim.rerun === 'recovery' });
  execute(ctx, { storageKey, token: claim.token, fingerprint, scope, executions: claim.executions, rerun: claim.rerun });
}

/** Answers a problem for a request refused before its claim (400, 413). */
function rejectRequest({ res, emit }: RequestContext, method: string, route: string, problem: ProblemCode, detail: string): void {
  emit(undefined, { type: 'rejected', problem, method, route });
  sendProblem(res, problem, detail);
}

/** A request the middleware does not guard (another method, or no key where none is required). */
function runUnguarded({ res, proceed }: RequestContext): void {
  invoke(proceed, {
    threw: () => {
      if (!res.headersSent) sendProblem(res, 'handler-failed', 'The request failed.');
      else res.destroy();
    },
  });
}
