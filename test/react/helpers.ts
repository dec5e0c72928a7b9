import { vi } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import type { ActionContext } from '../../src/ui/submission-observer.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Engine options for unit tests: memory store, no Web Locks, no jitter. */
export function engine() {
  return { store: memoryStore(), locks: null, random: () => 0 } as const;
}

/** An action whose calls are recorded and whose answers the test hands out one by one. */
export function controlledAction<TInput, TData>() {
  const answers: Deferred<TData>[] = [];
  const calls: { input: TInput; context: ActionContext }[] = [];
  const action = vi.fn((input: TInput, context: ActionContext) => {
    calls.push({ input, context });
    const answer = deferred<TData>();
    answers.push(answer);
    return answer.promise;
  });
  return { action, calls, answers };
}

export const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));
