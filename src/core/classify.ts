/**
 * Outcome classification, in one place: what an attempt's result (an HTTP-like response
 * such as fetch's Response or axios's response, or a thrown error) means for the intent.
 */
import { REPLAYED_HEADER } from '../protocol/headers.js';
import { problemType } from '../protocol/problems.js';

/** What one attempt's result means for the intent. */
export type Verdict =
  /** 2xx/3xx: done. */
  | { kind: 'success'; status?: number; replayed?: boolean }
  /** A definite refusal (most 4xx): done, and retrying would not help. */
  | { kind: 'final'; status?: number; replayed?: boolean }
  /**
   * The server may or may not have acted: try again with the same key. `inProgress`: the
   * server says another request with this key is running (409 by default), so the wait
   * does not spend an attempt (see `inProgressTimeout`).
   */
  | { kind: 'ambiguous'; status?: number; retryAfterMs?: number; inProgress?: boolean }
  /** The server says the key was used for another payload (422 from a verifier). */
  | { kind: 'key-reused'; status: number }
  /**
   * A failure (5xx, 408, 409, 425, 429) the server stored and replays (`Idempotent-Replayed`):
   * it answers the same for its whole retention, so retrying the key cannot help.
   */
  | { kind: 'replayed-failure'; status: number }
  /** The server cannot know whether the first run acted and will not run it again. */
  | { kind: 'outcome-unknown'; status: number };

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Decides what an attempt's result means. May be async (a problem body is read). */
export type Classifier<T> = (result: Settled<T>, now: number) => Verdict | Promise<Verdict>;

/** Statuses after which the server may or may not have acted. */
const AMBIGUOUS = new Set([408, 409, 425, 429]);

export function classifyStatus(status: number): 'success' | 'final' | 'ambiguous' {
  if (status >= 200 && status < 400) return 'success';
  if (status >= 500 || AMBIGUOUS.has(status)) return 'ambiguous';
  return 'final';
}

/**
 * `Retry-After` as delay-seconds (a fraction too, as axios-retry reads it) or an HTTP-date,
 * in milliseconds from `now`, or from the answer's `Date` (`sent`) where it has one;
 * anything else is no delay (`undefined`: the backoff applies).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now(), sent?: string | null): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = httpDate(text);
  // The date is on the server's clock, as its `Date` is: a client clock minutes ahead read
  // a 2 s pause as a retry at once, one behind as past `maxRetryAfter` (no retry).
  return Number.isNaN(date) ? undefined : Math.max(0, date - (httpDate(sent ?? '') || now));
}

/**
 * Every HTTP-date form begins with the day's name. Date.parse alone reads `-5`, `1,5` or
 * `+5` as dates long past: a retry at once, against a server that asked for a pause.
 */
const httpDate = (text: string): number => Date.parse(/^[a-z]{3}/i.test(text) ? text : '');

interface HttpLike {
  status: number;
  headers?: unknown;
  clone?: () => { json(): Promise<unknown> };
  data?: unknown;
}

/** An answer as a `keyReused` predicate sees it: its status and its headers. */
export interface Answer {
  status: number;
  header(name: string): string | null;
}

/**
 * How a server other than ours says "this key was used with another payload" (README,
 * "Server dialects"): statuses, or a predicate. Our own problem type is always recognised.
 */
export type KeyReusedMatch = readonly number[] | ((answer: Answer) => boolean);

/**
 * Our classifier. A 409 is "in progress" (waited out, see `inProgressTimeout`), as with our
 * verifier, express-idempotency and @node-idempotency; `keyReused` adds another server's
 * "key reused" answers to our problem type.
 */
export const defaultClassifier = async (
  result: Settled<unknown>,
  now: number,
  keyReused: KeyReusedMatch = [],
): Promise<Verdict> => {
  // A thrown error's status is its `response`'s (axios, ky) or its own (an app's HttpError,
  // Angular's HttpErrorResponse), as the README promises the hook's actions.
  const response = result.ok ? asHttp(result.value) : (asHttp((result.error as { response?: unknown } | null)?.response) ?? asHttp(result.error));
  if (!response) {
    // A value that is not an HTTP response means the action succeeded; an error with no
    // response (network failure, timeout, an unknown throw) may have reached the server.
    return result.ok ? { kind: 'success' } : { kind: 'ambiguous' };
  }
  const { status, headers } = response;
  const replayed = headerOf(headers, REPLAYED_HEADER) === 'true';
  // The verifier's problems that change what the client does, whatever their status:
  // retrying either would not help (key-reused) or could act twice (outcome-unknown).
  if (status >= 400) {
    const type = await problemTypeOf(response);
    for (const kind of ['key-reused', 'outcome-unknown'] as const) if (type === problemType(kind)) return { kind, status };
    const header = (name: string) => headerOf(headers, name);
    if (typeof keyReused === 'function' ? keyReused({ status, header }) : keyReused.includes(status)) return { kind: 'key-reused', status };
  }
  const kind = classifyStatus(status);
  if (kind === 'ambiguous') {
    // A stored failure (@node-idempotency and Stripe store 5xx) comes back for 24 h: stop.
    if (replayed) return { kind: 'replayed-failure', status };
    const retryAfterMs = parseRetryAfter(headerOf(headers, 'retry-after'), now, headerOf(headers, 'date'));
    return { kind, status, retryAfterMs, inProgress: status === 409 || undefined };
  }
  return { kind, status, replayed };
};

function asHttp(value: unknown): HttpLike | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status = (value as { status?: unknown }).status;
  return typeof status === 'number' && status >= 100 && status < 600 ? (value as HttpLike) : undefined;
}

/** Reads a header from a fetch `Headers`, axios's `AxiosHeaders` or a plain object. */
function headerOf(headers: unknown, name: string): string | null {
  if (typeof headers !== 'object' || headers === null) return null;
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name);
    return value == null ? null : String(value);
  }
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower) return value == null ? null : String(value);
  }
  return null;
}

/** The `type` of a `problem+json` answer, read without consuming the caller's body. */
async function problemTypeOf(response: HttpLike): Promise<unknown> {
  const contentType = headerOf(response.headers, 'content-type') ?? '';
  if (!contentType.includes('problem+json')) return undefined;
  let body: unknown = response.data;
  try {
    if (typeof response.clone === 'function') body = await response.clone().json();
    else if (typeof body === 'string') body = JSON.parse(body);
  } catch {
    return undefined;
  }
  return (body as { type?: unknown } | null)?.type;
}

