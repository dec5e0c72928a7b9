/** Storage must never block or drop a submission: on the first failure, carry on in memory. */
import { mapStore, type Decide, type KeyRecord, type KeyStore } from './store.js';

/** One call: `failedOver` once memory decides for it (it failed on the primary, or came after). */
interface Operation {
  failedOver: boolean;
}

export interface FallbackStoreOptions {
  /** An operation slower than this counts as a failure (a blocked open never settles). */
  timeout: number;
  onDegrade: (error: unknown, operation: string) => void;
}

/**
 * Deadlines on the monotonic clock: a wall clock set back an hour while an open hangs
 * re-armed the watchdog for that hour, and the submission waited with it.
 */
const clock = () => performance.now();

/**
 * Wraps `primary`; when one of its operations rejects or times out, all further work
 * goes to a memory store for the life of the page, and `onDegrade` is called once.
 */
export function fallbackStore(primary: KeyStore, options: FallbackStoreOptions): KeyStore {
  const { timeout } = options;
  let degraded = false;
  /**
   * What the primary decided for this page's intents, written as it decides: memory
   * starts from it, so an intent left ambiguous before a failure mid-page (quota, a slow
   * commit, the site's data cleared) is retried with its key, not a new one; and a claim
   * that timed out but may still commit sends the key a reload finds. Kept small by the
   * submitter's sweep, whose deletes it follows.
   */
  const records = new Map<string, KeyRecord>();
  const memory = mapStore(records);
  // An entry of a batch's map: `[fingerprint, decide]`. Once this operation has failed over
  // to memory, memory alone decides for it: the primary's late decision (a slow open come
  // through) must not replace what was sent. An operation still within its deadline when
  // another one degraded the store is the primary's to decide: its caller sends what it
  // decided, so memory must hold it too.
  const mirrored = ([fingerprint, decide]: [string, Decide], op: Operation): [string, Decide] => [
    fingerprint,
    (current) => {
      const next = decide(current);
      if (op.failedOver) return next;
      const after = next === undefined ? current : next;
      // Not copied: decisions return new records, and the memory store copies what it reads.
      if (after) records.set(fingerprint, after);
      else records.delete(fingerprint);
      return next;
    },
  ];
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

  async function run<T>(operation: string, onPrimary: (s: KeyStore, op: Operation) => Promise<T>): Promise<T> {
    const op: Operation = { failedOver: degraded };
    if (!degraded) {
      try {
        return await withTimeout(onPrimary(primary, op), operation);
      } catch (error) {
        op.failedOver = true;
        if (!degraded) {
          degraded = true;
          options.onDegrade(error, operation);
        }
      }
    }
    return onPrimary(memory, op);
  }

  return {
    get: (fingerprint) => run('get', (s) => s.get(fingerprint)),
    upsert: (fingerprint, decide) => run('upsert', (s, op) => s.upsert(...mirrored([fingerprint, decide], op))),
    batch: (decisions) => run('batch', (s, op) => s.batch(new Map([...decisions].map((entry) => mirrored(entry, op))))),
    list: () => run('list', (s) => s.list()),
  };
}
