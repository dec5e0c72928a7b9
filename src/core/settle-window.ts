/**
 * Final answers, remembered for the settle window: the second click of a double-click
 * that lands after a fast response gets the first click's answer instead of a new order.
 * In memory only; the store's settled record covers a reload.
 */
import type { Settled } from './classify.js';

export interface SettleWindow {
  /** `at`: when the answer came, if known (the clock is read otherwise). */
  remember(id: string, result: Settled<unknown>, at?: number): void;
  /** The answer remembered for `id`, if still inside the window. */
  recall(id: string): Settled<unknown> | undefined;
  /** Forgets every answer whose id `matches`. */
  forget(matches: (id: string) => boolean): void;
}

export function settleWindow(window: number, now: () => number): SettleWindow {
  const recent = new Map<string, { at: number; result: Settled<unknown> }>();
  // On either side of the answer, as a settled record's (`isLive`): the wall clock can go back.
  const inside = (at: number, time: number) => Math.abs(time - at) < window;
  const forget = (matches: (id: string) => boolean) => {
    for (const id of recent.keys()) if (matches(id)) recent.delete(id);
  };
  return {
    remember(id, result, at = now()) {
      // Drop what has expired, so a long-lived page does not keep every answer it ever got.
      // Oldest first (re-set ids go last), so the scan stops at the first live one: one
      // answer per submission, not every answer of the last second (a page sending fast).
      for (const [other, entry] of recent) {
        if (inside(entry.at, at)) break;
        recent.delete(other);
      }
      recent.delete(id);
      if (window > 0) recent.set(id, { at, result });
    },
    recall(id) {
      const hit = recent.get(id);
      return hit && inside(hit.at, now()) ? hit.result : undefined;
    },
    forget,
  };
}
