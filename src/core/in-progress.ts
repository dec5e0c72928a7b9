/**
 * Waiting out a server's "in progress" answer (issue 9): express-idempotency answers 409
 * without `Retry-After` while the first request runs, and three attempts with the usual
 * backoff were spent in ~1 s against a 1.5 s handler. These waits have their own bound,
 * `inProgressTimeout`, and spend no attempt.
 */
import { ceilingOf, type RetryOptions } from './retry.js';

/**
 * The shortest wait (ms) between in-progress polls, whatever `retry.baseDelay` says: those
 * waits spend no attempt, so at `baseDelay: 0` nothing else paced them and a busy server
 * took about 400 requests a second for the whole timeout. 100 ms keeps a client at ten
 * polls a second at most (the verifier asks for 1 s), and is short next to a handler's
 * typical run, so a fast one is still picked up about as soon as it finishes.
 */
export const IN_PROGRESS_FLOOR = 100;

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
    // At least twice the floor: equal jitter then waits the floor at least, still spread.
    const ceiling = Math.max(ceilingOf(retry, waits++), 2 * IN_PROGRESS_FLOOR);
    // Equal jitter: clients still spread out, and no poll comes ~0 ms after the last. A
    // `Retry-After` under the base delay or the floor (0, a date past, 0.001 s) paces
    // nothing: with no attempt spent, it was a tight loop of requests for the whole
    // timeout, so the backoff applies as without one.
    const paced = retryAfterMs !== undefined && retryAfterMs >= Math.max(retry.baseDelay, IN_PROGRESS_FLOOR);
    return Math.min(left, paced ? retryAfterMs : (ceiling + random() * ceiling) / 2);
  };
}
