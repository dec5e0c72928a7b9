/** The retry policy: its options, backoff with full jitter, and the abortable wait between attempts. */
import { InvalidOptionsError, SubmissionAbortedError } from './errors.js';

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
  // From JavaScript or JSON: spread, '3' or true were the defaults, silently.
  if (typeof input !== 'number' && (typeof input !== 'object' || !input || Array.isArray(input))) {
    throw new InvalidOptionsError('retry', `expected a number, false or an object, got ${String(input)}`);
  }
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
  return Math.floor(random() * ceilingOf(options, retryNumber - 1));
}

/**
 * `min(maxDelay, baseDelay * 2^doublings)`, finite. Unclamped, `0 * 2^1024` and
 * `0 * Infinity` (accepted options: `baseDelay: 0`, `maxDelay: Infinity`) were NaN: a NaN
 * timer fires at once and the `retry` event said `delayMs: NaN`.
 */
export function ceilingOf(options: RetryOptions, doublings: number): number {
  return Math.min(options.maxDelay, MAX_TIMER, options.baseDelay * 2 ** Math.min(Math.max(0, doublings), 52));
}

/** The longest delay a timer keeps: browsers and Node fire a longer `setTimeout` at once. */
export const MAX_TIMER = 2 ** 31 - 1;

/** Resolves after `ms` (at most `MAX_TIMER`), or rejects at once when `signal` aborts. */
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
    }, Math.min(ms, MAX_TIMER));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
