import { performance } from 'node:perf_hooks';

interface Waiter {
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

  /** Settles as `promise` does, or rejects with the timeout error once `ms` have passed. */
  watch<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { due: performance.now() + this.ms, reject };
      this.#pending.add(waiter);
      if (this.#timer === undefined) this.#arm(this.ms);
      promise.then(
        (value) => {
          this.#pending.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(waiter);
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
