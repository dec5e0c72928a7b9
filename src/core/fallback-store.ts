/** Storage must never block or drop a submission: on the first failure, carry on in memory. */
import { memoryStore, type KeyStore } from './store.js';

export interface FallbackStoreOptions {
  /** An operation slower than this counts as a failure (a blocked open never settles). */
  timeout: number;
  onDegrade: (error: unknown, operation: string) => void;
}

/** An operation on the primary store still running: when it is overdue, and how to fail it. */
interface Watched {
  deadline: number;
  fail: () => void;
}

/**
 * Wraps `primary`; when one of its operations rejects or times out, all further work
 * goes to a memory store for the life of the page, and `onDegrade` is called once.
 */
export function fallbackStore(primary: KeyStore, options: FallbackStoreOptions): KeyStore {
  const memory = memoryStore();
  const { timeout } = options;
  let degraded = false;
  const running = new Set<Watched>();
  // One watchdog for every operation, not a timer per operation: a claim on the submit
  // path would pay for arming and clearing one, and nearly all finish in a millisecond.
  let watchdog: ReturnType<typeof setTimeout> | undefined;

  function check(): void {
    watchdog = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const watched of running) {
      if (watched.deadline <= now) watched.fail();
      else next = Math.min(next, watched.deadline);
    }
    if (next < Infinity) arm(next - now);
  }

  function arm(ms: number): void {
    watchdog = setTimeout(check, ms);
    // Node keeps its event loop alive for a timer; a watchdog has nothing to keep alive for.
    (watchdog as { unref?: () => void }).unref?.();
  }

  /**
   * Rejects with the platform's `TimeoutError` (as `AbortSignal.timeout` does) when
   * `promise` takes over `timeout` ms; the caller never sees it, only `storage-degraded` does.
   */
  function watch<T>(promise: Promise<T>, operation: string): Promise<T> {
    if (!Number.isFinite(timeout)) return promise;
    return new Promise<T>((resolve, reject) => {
      const watched: Watched = {
        deadline: Date.now() + timeout,
        fail: () => {
          running.delete(watched);
          reject(new DOMException(`store.${operation} took over ${timeout} ms`, 'TimeoutError'));
        },
      };
      running.add(watched);
      // Armed when nothing was watched; an armed watchdog fires at the earliest deadline or before.
      if (watchdog === undefined) arm(timeout);
      promise.then(
        (value) => (running.delete(watched), resolve(value)),
        (error: unknown) => (running.delete(watched), reject(error)),
      );
    });
  }

  function run<T>(operation: string, onPrimary: (s: KeyStore) => Promise<T>): Promise<T> {
    if (degraded) return onPrimary(memory);
    let started: Promise<T>;
    try {
      started = onPrimary(primary);
    } catch (error) {
      started = Promise.reject(error);
    }
    return watch(started, operation).catch((error: unknown) => {
      if (!degraded) {
        degraded = true;
        options.onDegrade(error, operation);
      }
      return onPrimary(memory);
    });
  }

  return {
    get: (fingerprint) => run('get', (s) => s.get(fingerprint)),
    upsert: (fingerprint, decide) => run('upsert', (s) => s.upsert(fingerprint, decide)),
    batch: (decisions) => run('batch', (s) => s.batch(decisions)),
    list: () => run('list', (s) => s.list()),
  };
}
