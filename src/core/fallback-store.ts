/** Storage must never block or drop a submission: on the first failure, carry on in memory. */
import { memoryStore, type KeyRecord, type KeyStore } from './store.js';

export interface FallbackStoreOptions {
  /** An operation slower than this counts as a failure (a blocked open never settles). */
  timeout: number;
  onDegrade: (error: unknown, operation: string) => void;
}

/**
 * Wraps `primary`; when one of its operations rejects or times out, all further work
 * goes to a memory store for the life of the page, and `onDegrade` is called once.
 */
/**
 * Deadlines on the monotonic clock: a wall clock set back an hour while an open hangs
 * re-armed the watchdog for that hour, and the submission waited with it.
 */
const clock = () => performance.now();

export function fallbackStore(primary: KeyStore, options: FallbackStoreOptions): KeyStore {
  const memory = memoryStore();
  const { timeout } = options;
  let degraded = false;
  /**
   * Operations on the primary still running, oldest first (one timeout for all), each
   * with its deadline, watched by one timer armed for the oldest: a timer armed and
   * cleared per operation cost a claim on the submit path more than anything else here.
   */
  const running = new Map<() => void, number>();
  let watchdog: ReturnType<typeof setTimeout> | undefined;

  function watch(ms: number): void {
    watchdog = setTimeout(() => {
      watchdog = undefined;
      for (const [fail, deadline] of running) {
        if (deadline > clock()) return watch(deadline - clock());
        fail();
      }
    }, ms);
    // Node keeps its event loop alive for a timer; a watchdog has nothing to keep alive for.
    (watchdog as { unref?: () => void }).unref?.();
  }

  /**
   * Rejects with the platform's `TimeoutError` (as `AbortSignal.timeout` does) when
   * `promise` takes over `timeout` ms; the caller never sees it, only `storage-degraded` does.
   */
  function withTimeout<T>(promise: Promise<T>, operation: string): Promise<T> {
    if (!Number.isFinite(timeout)) return promise;
    return new Promise<T>((resolve, reject) => {
      const fail = () => {
        running.delete(fail);
        reject(new DOMException(`store.${operation} took over ${timeout} ms`, 'TimeoutError'));
      };
      running.set(fail, clock() + timeout);
      if (!watchdog) watch(timeout);
      promise.then(
        (value) => (running.delete(fail), resolve(value)),
        (error: unknown) => (running.delete(fail), reject(error)),
      );
    });
  }

  async function run<T>(operation: string, onPrimary: (s: KeyStore) => Promise<T>): Promise<T> {
    if (!degraded) {
      try {
        return await withTimeout(onPrimary(primary), operation);
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
    upsert: (fingerprint, decide) => {
      // What the primary decided may still commit after its timeout (a slow commit): memory
      // starts from it, so the key sent is the key a reload finds, not a second one.
      let decided: KeyRecord | undefined;
      return run('upsert', (s) =>
        s === primary
          ? s.upsert(fingerprint, (current) => {
              const next = decide(current);
              decided = next === undefined ? current : (next ?? undefined);
              return next;
            })
          : s.upsert(fingerprint, (current) => decide(current ?? decided)),
      );
    },
    batch: (decisions) => run('batch', (s) => s.batch(decisions)),
    list: () => run('list', (s) => s.list()),
  };
}
