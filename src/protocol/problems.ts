/**
 * The problems (RFC 9457) the verifier answers with: a stable code, the `type` URI made
 * from it, and the HTTP status. Titles are apart from statuses so a browser bundle that
 * only recognises problems does not carry the titles.
 */

/** Base of every problem `type` URI; the path segment after it is the code. */
export const PROBLEM_BASE = 'https://submit-once.dev/problems/';

export type ProblemCode =
  | 'key-missing'
  | 'key-malformed'
  | 'key-reused'
  | 'request-in-progress'
  | 'store-unavailable'
  | 'body-too-large'
  | 'body-too-deep'
  | 'body-consumed'
  | 'response-not-stored'
  | 'handler-failed'
  | 'upstream-unavailable'
  | 'outcome-unknown'
  | 'token-invalid'
  | 'token-expired'
  | 'precondition-failed'
  | 'precondition-required';

/** The status each problem is answered with. */
export const PROBLEM_STATUS: Readonly<Record<ProblemCode, number>> = {
  'key-missing': 400,
  'key-malformed': 400,
  // The client recognises this one: a bug in the caller, never retried.
  'key-reused': 422,
  'request-in-progress': 409,
  'store-unavailable': 503,
  'body-too-large': 413,
  // Nested deeper than MAX_JSON_DEPTH: refused before it is canonicalised.
  'body-too-deep': 400,
  // A server setup bug (something read the body before the middleware), not the client's: nothing ran.
  'body-consumed': 500,
  // 410: the request did take effect, only its response was not kept; retrying cannot help.
  'response-not-stored': 410,
  'handler-failed': 500,
  'upstream-unavailable': 502,
  // The first run may or may not have acted and will not be run again; the client stops.
  'outcome-unknown': 500,
  // Token mode: a key this server did not issue to this caller (unknown, forged, another's).
  'token-invalid': 400,
  // Only a first use is refused: a token that already claimed its key replays after expiry.
  'token-expired': 400,
  // Optimistic concurrency (RFC 9110): If-Match names a version that is no longer current.
  'precondition-failed': 412,
  // RFC 6585: the update must say which version it read.
  'precondition-required': 428,
};

export const PROBLEM_TITLE: Readonly<Record<ProblemCode, string>> = {
  'key-missing': 'Idempotency key missing',
  'key-malformed': 'Idempotency key malformed',
  'key-reused': 'Idempotency key reused with a different payload',
  'request-in-progress': 'A request with this idempotency key is in progress',
  'store-unavailable': 'Idempotency store unavailable',
  'body-too-large': 'Request body too large',
  'body-too-deep': 'Request body nested too deeply',
  'body-consumed': 'Request body read before the idempotency check',
  'response-not-stored': 'Response of the original request was not stored',
  'handler-failed': 'Handler failed',
  'upstream-unavailable': 'Upstream server unavailable',
  'outcome-unknown': 'Outcome of the original request unknown',
  'token-invalid': 'Idempotency token not issued to this caller',
  'token-expired': 'Idempotency token expired',
  'precondition-failed': 'The resource has changed',
  'precondition-required': 'An If-Match precondition is required',
};

/** The `type` URI of a problem code, e.g. `https://submit-once.dev/problems/key-reused`. */
export function problemType(code: ProblemCode): string {
  return PROBLEM_BASE + code;
}

/** The code of a problem `type` URI, or `undefined` when it is not one of ours. */
export function problemCodeOf(type: unknown): ProblemCode | undefined {
  if (typeof type !== 'string' || !type.startsWith(PROBLEM_BASE)) return undefined;
  const code = type.slice(PROBLEM_BASE.length);
  return Object.prototype.hasOwnProperty.call(PROBLEM_STATUS, code) ? (code as ProblemCode) : undefined;
}
