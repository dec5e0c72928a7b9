import { InvalidOptionsError } from '../invalid-options-error.js';

/**
 * `now` if it is a finite number. A clock that answers NaN (`new Date(bad).getTime()`) or
 * an infinity made a completed key look expired (no `expiresAt > NaN` holds), and its
 * retry ran the handler a second time; refused instead, the middleware answers 503.
 */
export function finiteNow(now: number): number {
  if (!Number.isFinite(now)) throw new InvalidOptionsError('now', `expected the clock to return a finite number of milliseconds, got ${String(now)}`);
  return now;
}
