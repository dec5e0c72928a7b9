/**
 * The default reading of an attempt's result: an HTTP-like response (fetch's Response,
 * axios's response) or a thrown error (axios's error with a response, a network error).
 */
import { classifyStatus, parseRetryAfter, type Verdict } from './retry.js';

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Decides what an attempt's result means. May be async (a 422 body is read). */
export type Classifier<T> = (result: Settled<T>, now: number) => Verdict | Promise<Verdict>;

interface HttpLike {
  status: number;
  headers?: unknown;
  clone?: () => { json(): Promise<unknown> };
  data?: unknown;
}

/** The problem `type` the reference verifier sends with its 422. */
const KEY_REUSED_PROBLEM = /key-reused$/;

export const defaultClassifier: Classifier<unknown> = async (result, now) => {
  const response = result.ok ? asHttp(result.value) : asHttp((result.error as { response?: unknown } | null)?.response);
  if (!response) {
    // A value that is not an HTTP response means the action succeeded; an error with no
    // response (network failure, timeout, an unknown throw) may have reached the server.
    return result.ok ? { kind: 'success' } : { kind: 'ambiguous' };
  }
  const status = response.status;
  const replayed = headerOf(response.headers, 'idempotent-replayed') === 'true';
  if (status === 422 && (await isKeyReusedProblem(response))) return { kind: 'key-reused', status };
  const kind = classifyStatus(status);
  if (kind === 'ambiguous') {
    const retryAfterMs = parseRetryAfter(headerOf(response.headers, 'retry-after'), now);
    return retryAfterMs === undefined ? { kind, status } : { kind, status, retryAfterMs };
  }
  return { kind, status, replayed };
};

function asHttp(value: unknown): HttpLike | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status = (value as { status?: unknown }).status;
  return typeof status === 'number' && status >= 100 && status < 600 ? (value as HttpLike) : undefined;
}

/** Reads a header from a fetch `Headers`, axios's `AxiosHeaders` or a plain object. */
export function headerOf(headers: unknown, name: string): string | null {
  if (typeof headers !== 'object' || headers === null) return null;
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name);
    return value == null ? null : String(value);
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value == null ? null : String(value);
  }
  return null;
}

async function isKeyReusedProblem(response: HttpLike): Promise<boolean> {
  const contentType = headerOf(response.headers, 'content-type') ?? '';
  if (!contentType.includes('problem+json')) return false;
  let body: unknown = response.data;
  if (typeof response.clone === 'function') {
    try {
      body = await response.clone().json();
    } catch {
      return false;
    }
  } else if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return false;
    }
  }
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === 'string' && KEY_REUSED_PROBLEM.test(type);
}
