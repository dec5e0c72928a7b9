import type { ServerResponse } from 'node:http';

/** Base of every problem `type` URI; the path segment is the stable machine code. */
export const PROBLEM_BASE = 'https://submit-once.dev/problems/';

/** Stable codes of the problems the verifier answers with. */
export type ProblemCode =
  | 'key-missing'
  | 'key-malformed'
  | 'key-reused'
  | 'request-in-progress'
  | 'store-unavailable'
  | 'body-too-large'
  | 'body-too-deep'
  | 'outcome-unknown'
  | 'response-not-stored'
  | 'handler-failed'
  | 'upstream-unavailable';

interface ProblemSpec {
  readonly status: number;
  readonly title: string;
}

const PROBLEMS: Readonly<Record<ProblemCode, ProblemSpec>> = {
  'key-missing': { status: 400, title: 'Idempotency key missing' },
  'key-malformed': { status: 400, title: 'Idempotency key malformed' },
  // The client SDK recognises a 422 whose type ends in `key-reused`: keep this code stable.
  'key-reused': { status: 422, title: 'Idempotency key reused with a different payload' },
  'request-in-progress': { status: 409, title: 'A request with this idempotency key is in progress' },
  'store-unavailable': { status: 503, title: 'Idempotency store unavailable' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  // 400, not 500: hostile input, and the SDK retries 5xx.
  'body-too-deep': { status: 400, title: 'Request body nested too deeply' },
  // Final, not retryable: the first run may have taken effect and nobody can tell. The
  // client SDK maps this type to its OutcomeUnknownError: keep this code stable.
  'outcome-unknown': { status: 500, title: 'Outcome of the request with this idempotency key is unknown' },
  // 410: the request did take effect, only its response was not kept; retrying cannot help.
  'response-not-stored': { status: 410, title: 'Response of the original request was not stored' },
  'handler-failed': { status: 500, title: 'Handler failed' },
  'upstream-unavailable': { status: 502, title: 'Upstream server unavailable' },
};

/** The `type` URI of a problem code, e.g. `https://submit-once.dev/problems/key-reused`. */
export function problemType(code: ProblemCode): string {
  return PROBLEM_BASE + code;
}

/** The status a problem code is answered with. */
export function problemStatus(code: ProblemCode): number {
  return PROBLEMS[code].status;
}

/** An RFC 9457 problem body. Extra members carry context (never secrets or the raw key). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extension: string]: unknown;
}

export function createProblem(code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}): Problem {
  const spec = PROBLEMS[code];
  return { ...extensions, type: problemType(code), title: spec.title, status: spec.status, detail };
}

/** Writes a problem as `application/problem+json`; never cached, since it describes one moment. */
export function sendProblem(
  res: ServerResponse,
  code: ProblemCode,
  detail: string,
  options: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
): void {
  const problem = createProblem(code, detail, options.extensions);
  const body = Buffer.from(JSON.stringify(problem));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = problem.status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', body.length);
  for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
  res.end(body);
}
