/** A Web Locks stand-in for Node tests: exclusive locks granted in request order, like the real one. */
import type { LockManagerLike } from '../../src/core/options.js';

export /** Exclusive locks granted in request order; an aborted request leaves the queue. */
function fakeLocks(): LockManagerLike & { requested: string[] } {
  const tails = new Map<string, Promise<void>>();
  const requested: string[] = [];
  return {
    requested,
    request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> {
      requested.push(name);
      const before = tails.get(name) ?? Promise.resolve();
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      tails.set(name, before.then(() => done));
      return new Promise<T>((resolve, reject) => {
        const { signal } = options;
        signal?.addEventListener('abort', () => {
          reject(signal.reason);
          release();
        });
        void before.then(async () => {
          if (signal?.aborted) return;
          try {
            resolve(await callback());
          } catch (error) {
            reject(error);
          } finally {
            release();
          }
        });
      });
    },
  };
}
