/** Storage must never block or drop a submission: on the first failure, carry on in memory. */
import { memoryStore, type KeyStore } from './store.js';

export interface FallbackStoreOptions {
  /** An operation slower than this counts as a failure (a blocked open never settles). */
  timeout: number;
  onDegrade: (error: unknown, operation: string) => void;
}

/**
 * Wraps `primary`; when one of its operations rejects or times out, all further work
 * goes to a memory store for the life of the page, and `onDegrade` is called once.
 */
export function fallbackStore(primary: KeyStore, options: FallbackStoreOptions): KeyStore {
  const memory = memoryStore();
  let degraded = false;

  async function run<T>(operation: string, onPrimary: (s: KeyStore) => Promise<T>): Promise<T> {
    if (!degraded) {
      try {
        return await withTimeout(onPrimary(primary), options.timeout, operation);
      } catch (error) {
        if (!degraded) {
          degraded = true;
          options.onDegrade(error, operation);
        }
      }
    }
    return onPrimary(memory);
  }

  return {
    get: (fingerprint) => run('get', (s) => s.get(fingerprint)),
    upsert: (fingerprint, decide) => run('upsert', (s) => s.upsert(fingerprint, decide)),
    batch: (decisions) => run('batch', (s) => s.batch(decisions)),
    list: () => run('list', (s) => s.list()),
  };
}

/**
 * Rejects with the platform's `TimeoutError` (as `AbortSignal.timeout` does) when `promise`
 * takes over `ms`; the caller never sees it, only the `storage-degraded` event does.
 */
function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DOMException(`store.${operation} took over ${ms} ms`, 'TimeoutError')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
