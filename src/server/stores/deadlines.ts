import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS } from '../invalid-options-error.js';

/**
 * One command waiting for its answer. The waiter is itself the node of its `Deadlines`'
 * list, so a command (a Redis step) that extends it costs no object, closure or `Set`
 * entry of its own for its deadline.
 */
export abstract class Waiter {
  due = 0;
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** Called at most once, with the timeout error, if `finish` did not come first. */
  abstract expire(error: Error): void;
}

/** A promise's waiter: `watch` rejects it on timeout. */
class PromiseWaiter extends Waiter {
  constructor(private readonly reject: (error: unknown) => void) {
    super();
  }
  expire(error: Error): void {
    this.reject(error);
  }
}

/**
 * Fails a store command that has not answered within `ms`, with one timer for all of
 * them instead of a timer and a `Promise.race` per command. Every deadline is the same
 * `ms` after its start, so the pending commands, kept in the order they started, fall due
 * in that order: the list's head is always the next one.
 */
export class Deadlines {
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly timeoutError: () => Error,
  ) {}

  /** Starts the clock of one command: `waiter.expire` is called with the timeout error unless `finish` comes first. */
  start<W extends Waiter>(waiter: W): W {
    waiter.due = performance.now() + this.ms;
    waiter.prev = this.#tail;
    waiter.next = undefined;
    if (this.#tail === undefined) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    if (this.#timer === undefined) this.#arm(this.ms);
    return waiter;
  }

  /** The command answered in time (or failed on its own); a waiter already expired or finished is left alone. */
  finish(waiter: Waiter): void {
    if (waiter.prev === undefined && this.#head !== waiter) return;
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
  }

  /** Settles as `promise` does, or rejects with the timeout error once `ms` have passed. */
  watch<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = this.start(new PromiseWaiter(reject));
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
    // A longer wait (Infinity: no timeout) is taken in steps: `#expire` arms the rest.
    this.#timer = setTimeout(() => this.#expire(), Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(inMs))));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (let waiter = this.#head; waiter !== undefined; waiter = this.#head) {
      if (waiter.due > now) {
        this.#arm(waiter.due - now);
        return;
      }
      this.finish(waiter);
      waiter.expire(this.timeoutError());
    }
  }
}
