import { performance } from 'node:perf_hooks';

/** One command waiting for its answer; `reject` fails it once its time is up. */
export interface Waiter {
  readonly due: number;
  readonly reject: (error: unknown) => void;
}

/**
 * Fails a store command that has not answered within `ms`, with one timer for all of
 * them instead of a timer and a `Promise.race` per command. Every deadline is the same
 * `ms` after its start, so the oldest pending command is always the next one due.
 */
export class Deadlines {
  readonly #pending = new Set<Waiter>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly timeoutError: () => Error,
  ) {}

  /** Starts the clock of one command: `reject` is called with the timeout error unless `finish` comes first. */
  start(reject: (error: unknown) => void): Waiter {
    const waiter: Waiter = { due: performance.now() + this.ms, reject };
    this.#pending.add(waiter);
    if (this.#timer === undefined) this.#arm(this.ms);
    return waiter;
  }

  /** The command answered in time (or failed on its own). */
  finish(waiter: Waiter): void {
    this.#pending.delete(waiter);
  }

  /** Settles as `promise` does, or rejects with the timeout error once `ms` have passed. */
  watch<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = this.start(reject);
      promise.then(
        (value) => {
          this.finish(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.finish(waiter);
          reject(error);
        },
      );
    });
  }

  #arm(inMs: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(inMs)));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const waiter of this.#pending) {
      if (waiter.due > now) {
        this.#arm(waiter.due - now);
        return;
      }
      this.#pending.delete(waiter);
      waiter.reject(this.timeoutError());
    }
  }
}
