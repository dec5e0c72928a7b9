/**
 * One request through the middleware, up to its claim: CORS and the audit endpoint, the
 * key, the body and its payload fingerprint, the principal, then the store's claim, which
 * decides between running the handler (`execute`), replaying (`replay`) and a problem.
 */
import type { ServerResponse } from 'node:http';
import { isPayloadTooDeepError, parseKey, type ProblemCode } from '../protocol/index.js';
import { applyCors } from './cors.js';
import { eventScope, type Claimed } from './claimed.js';
import { execute, invoke } from './execute.js';
import { payloadFingerprint } from './fingerprint.js';
import { readProperty } from './read-property.js';
import type { IdempotentRequest } from './middleware.js';
import { headerLines } from './header-lines.js';
import { requestPath, requestQuery, type ResolvedOptions } from './options.js';
import { replay } from './replay.js';
import type { RequestContext } from './request-context.js';
import { setRunContext } from './run-context.js';
import { BodyTooLargeError, isUnreadPlaceholder, payloadOf, readBody } from './request-body.js';
import { sendOutcomeUnknown, sendProblem } from './respond.js';
import { serveStats } from './stats-endpoint.js';
import { storageKeyOf, tokenStorageKeyOf } from './storage-key.js';
import type { ClaimResult } from './stores/types.js';
import { refuseExpiredToken } from './token-claim.js';
import { uploadedFilesOf, type UploadedFileDigest } from './uploaded-files.js';

const RETRY_AFTER_SECONDS = '1';

/** A promise when the step waits for something, else nothing (it is done). */
type Pending = Promise<void> | void;

/**
 * Guards one request. Returns a promise only when something had to be waited for (an
 * async principal, an async store), settled once the request is answered or handed to the
 * handler (rejects only on a bug; `answerBugs`); else everything happened in this call, or
 * the body's read goes on and answers its own bugs.
 */
export function guard(ctx: RequestContext): Pending {
  const { req, res, opts, audit } = ctx;
  if (opts.cors !== undefined && applyCors(req, res, opts.cors, opts.header)) return;
  if (opts.statsPath !== undefined && requestPath(req) === opts.statsPath) {
    if (serveStats(req, res, { stats: () => audit.snapshot(), resetStats: () => audit.reset() })) return;
  }

  const method = (readProperty<string | undefined>(req, 'method') ?? 'GET').toUpperCase();
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

  // A body a parser (Express) already read is taken as it is, in this call: a read stream
  // says so in one property read. A body set on an unread stream may be Express 4's `{}`.
  const idempotent = req as IdempotentRequest;
  const body = readProperty<unknown>(idempotent, 'body');
  if (body !== undefined && (readProperty<boolean>(idempotent, 'readableDidRead') || !isUnreadPlaceholder(idempotent, body))) {
    // A multipart parser (multer) leaves the fields in `req.body`, the files elsewhere.
    const files = typeof body === 'object' && body !== null && !(body instanceof Uint8Array) ? uploadedFilesOf(req) : undefined;
    if (files !== undefined) return claimUpload(ctx, method, path, route, parsed.key, body, files);
    return fingerprintAndClaim(ctx, method, path, route, parsed.key, body);
  }
  return readAndClaim(ctx, method, path, route, parsed.key);
}

/**
 * Waits for the body (`node:http`), then fingerprints and claims. One promise and its
 * callbacks (an async function awaiting an async read took three promises and as many
 * microtask turns), which run in the listener's async context: an `AsyncLocalStorage`
 * the listener entered (a transactional store's `scope`) reaches the claim and the
 * handler, which a callback from the body's stream events would not.
 */
function readAndClaim(ctx: RequestContext, method: string, path: string, route: string, key: string): Pending {
  const req = ctx.req as IdempotentRequest;
  // Two property reads: the stream is untouched on almost every request.
  if (req.readableDidRead || req.readableEnded) return readBefore(ctx, method, path, route, key);
  // Each callback answers its own bugs, so the caller gets nothing to wait on and chains
  // no `.catch` of its own: one promise and one microtask turn fewer a request.
  void readBody(req, ctx.opts.maxBodyBytes).then(
    (raw) => {
      try {
        answerBugs(ctx.res, fingerprintAndClaim(ctx, method, path, route, key, payloadOf(req, raw)));
      } catch (error) {
        failed(ctx.res, error);
      }
    },
    (error: unknown) => {
      try {
        bodyFailed(ctx, method, route, error);
      } catch (bug) {
        failed(ctx.res, bug);
      }
    },
  );
}

/**
 * The stream was read before the guard. Its bytes are fingerprinted when whoever read it
 * kept them in `rawBody` (a second guard, a signature check); an empty stream has none.
 * Else data went elsewhere: fingerprinting what is left (nothing, or a tail) would replay
 * another payload under the same key, so the request is refused and nothing runs.
 */
function readBefore(ctx: RequestContext, method: string, path: string, route: string, key: string): Pending {
  const req = ctx.req as IdempotentRequest;
  const raw = req.rawBody;
  if (Buffer.isBuffer(raw) && req.readableEnded) return fingerprintAndClaim(ctx, method, path, route, key, payloadOf(req, raw));
  if (!req.readableDidRead) return fingerprintAndClaim(ctx, method, path, route, key, undefined);
  warnOnce(ctx.opts);
  return rejectRequest(
    ctx,
    method,
    route,
    'body-consumed',
    'The request body was read before the idempotency middleware, which cannot fingerprint it; the request was not run. Mount the middleware before what reads the body, or after a body parser that sets req.body.',
  );
}

const warned = new WeakSet<ResolvedOptions>();

/** A setup bug the developer must see even without `onEvent`: one process warning per middleware. */
function warnOnce(opts: ResolvedOptions): void {
  if (warned.has(opts)) return;
  warned.add(opts);
  process.emitWarning(
    'submit-once: a request body was consumed before the idempotency middleware (no req.body or req.rawBody was left); such requests are answered 500 body-consumed. Mount the middleware before whatever reads the body, or after a body parser.',
    { code: 'SUBMIT_ONCE_BODY_CONSUMED' },
  );
}

/** A step still waiting (its promise rejects only on a bug): the bug is answered, never left unhandled. */
export function answerBugs(res: ServerResponse, pending: Pending): void {
  if (pending instanceof Promise) pending.catch((error: unknown) => failed(res, error));
}

/** Only reached on a bug; answer rather than leave the socket hanging. */
export function failed(res: ServerResponse, error: unknown): void {
  if (!res.headersSent) sendProblem(res, 'handler-failed', 'The idempotency middleware failed unexpectedly.');
  else res.destroy(error instanceof Error ? error : undefined);
}

function bodyFailed(ctx: RequestContext, method: string, route: string, error: unknown): void {
  if (error instanceof BodyTooLargeError) {
    ctx.res.setHeader('Connection', 'close');
    return rejectRequest(ctx, method, route, 'body-too-large', `The request body exceeds ${error.limit} bytes.`);
  }
  // The client went away mid-body: nothing to answer.
  ctx.res.destroy();
}

/** A parsed multipart body: its fields and files fingerprinted together, or refused when the files cannot be read. */
function claimUpload(ctx: RequestContext, method: string, path: string, route: string, key: string, fields: unknown, files: UploadedFiles): Pending {
  if (files instanceof Promise) return files.then((read) => claimUpload(ctx, method, path, route, key, fields, read));
  if (!Array.isArray(files)) return rejectRequest(ctx, method, route, 'body-consumed', files.refused);
  return fingerprintAndClaim(ctx, method, path, route, key, fields, files);
}

type UploadedFiles = NonNullable<ReturnType<typeof uploadedFilesOf>>;

function fingerprintAndClaim(ctx: RequestContext, method: string, path: string, route: string, key: string, body: unknown, files?: readonly UploadedFileDigest[]): Pending {
  const { req, opts } = ctx;
  let fingerprint: string;
  try {
    fingerprint = payloadFingerprint({ method, path, query: requestQuery(req), body, contentType: readProperty<IdempotentRequest['headers']>(req, 'headers')['content-type'], files });
  } catch (error) {
    if (isPayloadTooDeepError(error)) return rejectRequest(ctx, method, route, 'body-too-deep', `The JSON body is ${error.message}.`);
    throw error;
  }
  const principal: unknown = opts.principal?.(req);
  // Waited for only when it is a promise: each wait is a turn of the microtask queue. A
  // promise library's thenable is one too: taken as the principal, every caller's would
  // serialise alike, one key space for all.
  if (principal instanceof Promise || typeof (principal as { then?: unknown } | null | undefined)?.then === 'function') {
    return Promise.resolve(principal).then((resolved: unknown) => claimAs(ctx, method, route, key, fingerprint, resolved));
  }
  return claimAs(ctx, method, route, key, fingerprint, principal);
}

/**
 * Claims for the principal the function gave: a string, or none (undefined, null). A
 * number is kept as it was before (its storage key is its JSON). Anything else (a user
 * object, a boolean) would put every caller whose value serialises alike in one key space,
 * so the request is refused and nothing runs.
 */
function claimAs(ctx: RequestContext, method: string, route: string, key: string, fingerprint: string, principal: unknown): Pending {
  if (principal === undefined || principal === null) return claim(ctx, method, route, key, fingerprint, undefined);
  if (typeof principal === 'string' || typeof principal === 'number') return claim(ctx, method, route, key, fingerprint, principal as string);
  ctx.emit(undefined, { type: 'rejected', problem: 'handler-failed', method, route });
  sendProblem(ctx.res, 'handler-failed', `The principal function returned ${typeof principal}, not a string or undefined; the request was not run.`);
}

function claim(ctx: RequestContext, method: string, route: string, key: string, fingerprint: string, principal: string | undefined): Pending {
  const { opts } = ctx;
  // Token mode (issue 13): a key this server did not sign for this caller never reaches the store.
  const token = opts.tokens?.check(key, principal, opts.now());
  if (token && !token.ok) return rejectRequest(ctx, method, route, token.problem, token.detail);
  // An st2 token is one claim whatever the method and route; an st1 one keeps the storage key
  // it had before st2, so a retry across the upgrade finds its record.
  const storageKey = token?.scope === 'token' ? tokenStorageKeyOf(principal, key) : storageKeyOf(principal, method, route, key);
  const claimed: Claimed = { key, principal, method, route, storageKey, fingerprint, expiredToken: token?.expired === true };
  const request = { key: storageKey, fingerprint, leaseMs: opts.leaseMs, retentionMs: opts.ttl, now: opts.now(), recover: opts.recovery };
  const { sync } = opts.store;
  let result: ClaimResult | undefined;
  if (sync !== undefined) {
    try {
      result = sync.claim(request);
    } catch (error) {
      return storeFailed(ctx, claimed, error);
    }
  }
  if (result === undefined) {
    return opts.store.claim(request).then(
      (answer) => decide(ctx, claimed, answer),
      (error: unknown) => storeFailed(ctx, claimed, error),
    );
  }
  return decide(ctx, claimed, result);
}

/** Fail closed: running the handler without a claim could run it twice. */
function storeFailed({ res, emit }: RequestContext, claimed: Claimed, error: unknown): void {
  emit(claimed.storageKey, { ...eventScope(claimed), type: 'store-error', error });
  sendProblem(res, 'store-unavailable', 'The idempotency store cannot be reached; retry with the same key.', {
    headers: { 'Retry-After': RETRY_AFTER_SECONDS },
  });
}

/** Runs the handler (`execute`), replays, or answers the problem the claim's result calls for. */
function decide(ctx: RequestContext, claimed: Claimed, claim: ClaimResult): Pending {
  const { req, res, opts, audit, emit } = ctx;
  const { storageKey, fingerprint } = claimed;
  if (claim.status !== 'claimed' && claim.fingerprint !== fingerprint) {
    emit(storageKey, { ...eventScope(claimed), type: 'mismatch' });
    sendProblem(res, 'key-reused', `This ${opts.header} was already used for a request with a different payload.`);
    return;
  }
  if (claim.status === 'in-progress') {
    emit(storageKey, { ...eventScope(claimed), type: 'conflict' });
    sendProblem(res, 'request-in-progress', 'A request with this key is still being processed; retry later.', {
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
    });
    return;
  }
  if (claim.status === 'unknown') {
    emit(storageKey, { ...eventScope(claimed), type: 'outcome-unknown', at: 'claim', executions: claim.executions });
    sendOutcomeUnknown(res);
    return;
  }
  if (claim.status === 'completed') {
    audit.replayed(storageKey, claimed, claim.response.status, claim.executions);
    ctx.tell?.({ ...eventScope(claimed), type: 'replayed', status: claim.response.status, executions: claim.executions });
    replay(res, claim.response);
    return;
  }
  const { method, route } = claimed;
  // An expired token may replay (above) but not run again: its fresh claim is handed back.
  // Except a recovery: its run may have taken effect, and "expired, nothing ran" would be a
  // lie the page acts on. (A released run took none, so its refusal is true.)
  if (claimed.expiredToken && claim.rerun !== 'recovery') return refuseExpiredToken(ctx, storageKey, claim.token, () => rejectRequest(ctx, method, route, 'token-expired', 'The token expired before its first use; fetch a new one.'));
  setRunContext(req, { key: claimed.key, principal: claimed.principal, recovery: claim.rerun === 'recovery' });
  execute(ctx, claimed, claim);
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
