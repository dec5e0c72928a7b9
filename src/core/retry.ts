/** Outcome classification, backoff with full jitter, and Retry-After. */
import { InvalidOptionsError, SubmissionAbortedError } from './errors.js';

/** What one attempt's result means for the intent. */
export type Verdict =
  /** 2xx/3xx: done. */
  | { kind: 'success'; status?: number; replayed?: boolean }
  /** A definite refusal (most 4xx): done, and retrying would not help. */
  | { kind: 'final'; status?: number; replayed?: boolean }
  /** The server may or may not have acted: try again with the same key. */
  | { kind: 'ambiguous'; status?: number; retryAfterMs?: number }
  /** The server says the key was used for another payload (422 from a verifier). */
  | { kind: 'key-reused'; status: number };

/** Statuses after which the server may or may not have acted. */
const AMBIGUOUS = new Set([408, 409, 425, 429]);

export function classifyStatus(status: number): 'success' | 'final' | 'ambiguous' {
  if (status >= 200 && status < 400) return 'success';
  if (status >= 500 || AMBIGUOUS.has(status)) return 'ambiguous';
  return 'final';
}

/** `Retry-After` as delay-seconds or an HTTP-date, in milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RetryOptions {
  /** Total attempts, the first included. 1 disables retries. */
  attempts: number;
  /** First backoff ceiling in ms; it doubles per attempt. */
  baseDelay: number;
  /** Largest backoff in ms. */
  maxDelay: number;
  /** A `Retry-After` longer than this (ms) ends the retries; the key is kept. */
  maxRetryAfter: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  attempts: 3,
  baseDelay: 300,
  maxDelay: 10_000,
  maxRetryAfter: 60_000,
});

/** `retry: 3`, `retry: false` or `retry: { … }`, validated once. */
export type RetryInput = number | false | Partial<RetryOptions> | undefined;

export function normaliseRetry(input: RetryInput, base: RetryOptions = DEFAULT_RETRY): RetryOptions {
  if (input === undefined) return { ...base };
  if (input === false) return { ...base, attempts: 1 };
  const merged: RetryOptions =
    typeof input === 'number' ? { ...base, attempts: input } : { ...base, ...dropUndefined(input) };
  if (!Number.isInteger(merged.attempts) || merged.attempts < 1) {
    throw new InvalidOptionsError('retry.attempts', `expected a whole number >= 1, got ${String(merged.attempts)}`);
  }
  for (const name of ['baseDelay', 'maxDelay', 'maxRetryAfter'] as const) {
    if (typeof merged[name] !== 'number' || !(merged[name] >= 0)) {
      throw new InvalidOptionsError(`retry.${name}`, `expected a number of milliseconds >= 0, got ${String(merged[name])}`);
    }
  }
  return merged;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/**
 * Full jitter (AWS architecture blog): a uniform delay in [0, min(max, base * 2^n)), so
 * many clients failing together do not retry together.
 */
export function backoffDelay(retryNumber: number, options: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelay, options.baseDelay * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, key?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SubmissionAbortedError(key, { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SubmissionAbortedError(key, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
