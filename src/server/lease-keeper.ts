/**
 * Keeps the leases of every running handler of one middleware alive with two shared
 * timers instead of two per request: one interval renews every held lease each half
 * lease, one timeout fires at the earliest `maxRunMs` deadline. Every run gets the same
 * `maxRunMs`, so deadlines come in the order runs started: the oldest held lease is
 * always the next one due.
 */
import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS } from './invalid-options-error.js';
import type { IdempotencyStore } from './stores/types.js';

/** One run's claim as the keeper holds it; `startedAt` is set by `hold`. */
export interface HeldLease {
  readonly storageKey: string;
  readonly token: string;
  startedAt: number;
  /** The run passed `maxRunMs`: its lease is no longer renewed and runs out on its own. */
  overdue(): void;
  /** The store no longer holds the lease for this run (another run took the key over): it is no longer renewed. */
  lost(): void;
}

export interface LeaseKeeperOptions {
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  readonly maxRunMs: number;
  /** The store's clock (the lease end is written in its time). */
  readonly now: () => number;
}

export class LeaseKeeper {
  // Insertion order is start order, hence deadline order.
  readonly #held = new Set<HeldLease>();
  readonly #renewEveryMs: number;
  #renewTimer: NodeJS.Timeout | undefined;
  #overdueTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.#renewEveryMs = Math.min(MAX_TIMER_MS, Math.max(10, Math.floor(opts.leaseMs / 2)));
  }

  /**
   * Renews `lease` at least every half lease until `release`, for at most `maxRunMs`: a
   * handler that never ends must not hold its key for ever.
   */
  hold(lease: HeldLease): void {
    lease.startedAt = performance.now();
    this.#held.add(lease);
    // Both timers stay armed while leases come and go; each stops itself once idle.
    if (this.#renewTimer === undefined) {
      this.#renewTimer = setInterval(() => this.#renewAll(), this.#renewEveryMs);
      this.#renewTimer.unref();
    }
    if (this.#overdueTimer === undefined) this.#armOverdue(this.opts.maxRunMs);
  }

  release(lease: HeldLease): void {
    this.#held.delete(lease);
  }

  close(): void {
    this.#held.clear();
    clearInterval(this.#renewTimer);
    clearTimeout(this.#overdueTimer);
    this.#renewTimer = undefined;
    this.#overdueTimer = undefined;
  }

  #renewAll(): void {
    if (this.#held.size === 0) {
      clearInterval(this.#renewTimer);
      this.#renewTimer = undefined;
      return;
    }
    const { store, leaseMs, maxRunMs, now } = this.opts;
    const at = performance.now();
    for (const lease of this.#held) {
      if (at - lease.startedAt >= maxRunMs) continue;
      store.renew({ key: lease.storageKey, token: lease.token, leaseMs, now: now() }).then(
        (held) => {
          if (held || !this.#held.delete(lease)) return;
          lease.lost();
        },
        () => {
          // A store hiccup: the next tick tries again, the lease covers the gap.
        },
      );
    }
  }

  #armOverdue(inMs: number): void {
    // A longer deadline is reached in steps: `#expireOverdue` arms the rest.
    this.#overdueTimer = setTimeout(() => this.#expireOverdue(), Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(inMs))));
    this.#overdueTimer.unref();
  }

  #expireOverdue(): void {
    this.#overdueTimer = undefined;
    const at = performance.now();
    for (const lease of this.#held) {
      const dueIn = lease.startedAt + this.opts.maxRunMs - at;
      if (dueIn > 0) {
        this.#armOverdue(dueIn);
        return;
      }
      this.#held.delete(lease);
      lease.overdue();
    }
  }
}
