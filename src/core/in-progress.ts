/**
 * Waiting out a server's "in progress" answer (issue 9): express-idempotency answers 409
 * without `Retry-After` while the first request runs, and three attempts with the usual
 * backoff were spent in ~1 s against a 1.5 s handler. These waits have their own bound,
 * `inProgressTimeout`, and spend no attempt.
 */
import { ceilingOf, type RetryOptions } from './retry.js';

/**
 * One intent's in-progress clock, started at its first such answer. Returns the next wait
 * in ms (the server's `Retry-After`, else a doubling backoff), or `undefined` once the
 * bound is reached.
 */
export function inProgressWaits(
  timeout: number,
  retry: RetryOptions,
  now: () => number,
  random: () => number,
): (retryAfterMs: number | undefined) => number | undefined {
  // Time spent, counted forward only: a wall clock set back an hour mid-wait kept a
  // deadline an hour away, and the server was polled for that hour.
  let spent = 0;
  let last: number | undefined;
  let waits = 0;
  return (retryAfterMs) => {
    const time = now();
    spent += Math.max(0, time - (last ?? time));
    last = time;
    const left = timeout - spent;
    // `retry: false` (attempts 1) means no resend at all, in progress or not.
    if (left <= 0 || retry.attempts < 2) return undefined;
    const ceiling = ceilingOf(retry, waits++);
    // Equal jitter: clients still spread out, and no poll comes ~0 ms after the last. A
    // `Retry-After` under the base delay (0, a date past, 0.001 s) paces nothing: with no
    // attempt spent, it was a tight loop of requests for the whole timeout, so the backoff
    // applies as without one.
    return Math.min(left, retryAfterMs !== undefined && retryAfterMs >= retry.baseDelay ? retryAfterMs : (ceiling + random() * ceiling) / 2);
  };
}
