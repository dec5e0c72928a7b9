/**
 * Storage must never block or drop a submission: on a failure, carry on in memory, and
 * go back to the primary, with what memory decided meanwhile, once it answers again.
 */
import { mapStore, type Decide, type KeyRecord, type KeyStore } from './store.js';

/** One call: `failedOver` once memory decides for it (it failed on the primary, or came after). */
interface Operation {
  failedOver: boolean;
}

export interface FallbackStoreOptions {
  /** An operation slower than this counts as a failure (a blocked open never settles). */
  timeout: number;
  onDegrade: (error: unknown, operation: string) => void;
  /**
   * How memory's decision for an intent, `held` (null: dropped) last under `key`, is
   * written over the primary's `current` once the primary answers again.
   */
  writeBehind: (held: KeyRecord | null, key: string, current: KeyRecord | undefined) => KeyRecord | null | undefined;
  /** Memory's decision `held` for `fingerprint` has been written through (or left, as `writeBehind` said). */
  onWrittenThrough?: (fingerprint: string, held: KeyRecord | null) => void;
}

/** The fallback: a store that also says which decisions are still in memory only. */
export interface FallbackStore extends KeyStore {
  /** True while memory's decision for `fingerprint` has not reached the primary (a page left now loses it). */
  inMemoryOnly(fingerprint: string): boolean;
}

/**
 * The shortest time (ms) between attempts to go back to a primary that failed: one
 * transaction tried at this pace while the page keeps working (or has decisions to write),
 * none while it sits idle. A timed-out operation the primary completes after all (a slow
 * open come through) starts one at once.
 */
export const PROBE_INTERVAL = 5000;

/** The probe's operation name, for its timeout's message. */
const PROBE = 'write-through';

/**
 * Deadlines on the monotonic clock: a wall clock set back an hour while an open hangs
 * re-armed the watchdog for that hour, and the submission waited with it.
 */
const clock = () => performance.now();

/**
 * Wraps `primary`; when one of its operations rejects or times out, further work goes to
 * a memory store, and `onDegrade` is called. In the background (never ahead of an
 * operation) the primary is tried again; once it answers, memory's decisions since are
 * written through to it and work goes back to it.
 */
export function fallbackStore(primary: KeyStore, options: FallbackStoreOptions): FallbackStore {
  const { timeout } = options;
  let degraded = false;
  /**
   * What memory decided while degraded, by fingerprint: the record (null: dropped) and the
   * key it was last under, for the write-through.
   */
  const unwritten = new Map<string, { held: KeyRecord | null; key: string }>();
  let probing = false;
  /** The decisions the probe's transaction is writing. */
  let round = new Map<string, { held: KeyRecord | null; key: string }>();
  let probeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Monotonic time before which no probe starts. */
  let nextProbe = 0;
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
  // through) must not replace what was sent, in memory nor in the primary (over a record it
  // did not read, it made a key nobody sent); memory's decision reaches the primary by the
  // write-through. An operation still within its deadline when
  // another one degraded the store is the primary's to decide: its caller sends what it
  // decided, so memory must hold it too.
  const mirrored = ([fingerprint, decide]: [string, Decide], op: Operation, onMemory: boolean): [string, Decide] => [
    fingerprint,
    (current) => {
      const next = decide(current);
      const after = next === undefined ? current : next;
      if (op.failedOver) {
        if (!onMemory) return undefined;
        if (after !== current) unwritten.set(fingerprint, { held: after ?? null, key: (after ?? current)!.key });
        return next;
      }
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
    // Without a timeout nothing completes late; and no hop on the claim's path for this.
    if (!Number.isFinite(timeout)) return promise;
    // An operation the primary completed, in time or late, while degraded: it answers again.
    const answered = <V>(value: V) => (degraded && operation !== PROBE && comeBack(), value);
    return new Promise<T>((resolve, reject) => {
      const fail = () => {
        running.delete(fail);
        reject(new DOMException(`store.${operation} took over ${timeout} ms`, 'TimeoutError'));
      };
      running.set(fail, clock() + timeout);
      if (!watchdog) watch(timeout);
      promise.then(
        (value) => (running.delete(fail), resolve(answered(value))),
        (error: unknown) => (running.delete(fail), reject(error)),
      );
    });
  }

  function comeBack(): void {
    nextProbe = 0;
    clearTimeout(probeTimer);
    probeTimer = undefined;
    schedule();
  }

  /** A probe at the earliest moment allowed, unless one is armed or running. */
  function schedule(): void {
    if (probing || probeTimer) return;
    probeTimer = setTimeout(() => void probe(), Math.max(0, nextProbe - clock()));
    (probeTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Writes memory's decisions through to the primary, in rounds until a round leaves
   * nothing unwritten; then, in the same task (no decision in between), work goes back to
   * the primary. A failure leaves them for the next probe.
   */
  async function probe(): Promise<void> {
    probeTimer = undefined;
    probing = true;
    try {
      do {
        round = new Map(unwritten);
        unwritten.clear();
        const decisions = new Map<string, Decide>([...round].map(([fp, { held, key }]) => [fp, (current) => options.writeBehind(held, key, current)]));
        try {
          await withTimeout(primary.batch(decisions), PROBE);
        } catch {
          for (const [fp, entry] of round) if (!unwritten.has(fp)) unwritten.set(fp, entry);
          nextProbe = clock() + PROBE_INTERVAL;
          return;
        }
        const written = round;
        round = new Map();
        for (const [fp, { held }] of written) options.onWrittenThrough?.(fp, held);
      } while (unwritten.size > 0);
      degraded = false;
    } finally {
      round = new Map();
      probing = false;
      // Unwritten decisions are tried again on their own; otherwise the next operation asks.
      if (degraded && unwritten.size > 0) schedule();
    }
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
          nextProbe = clock() + PROBE_INTERVAL;
          options.onDegrade(error, operation);
        }
      }
    }
    // Applied to memory at once, so a probe that starts after this sees it unwritten.
    const result = onPrimary(memory, op);
    schedule();
    return result;
  }

  return {
    get: (fingerprint) => run('get', (s) => s.get(fingerprint)),
    upsert: (fingerprint, decide) => run('upsert', (s, op) => s.upsert(...mirrored([fingerprint, decide], op, s === memory))),
    batch: (decisions) => run('batch', (s, op) => s.batch(new Map([...decisions].map((entry) => mirrored(entry, op, s === memory))))),
    list: () => run('list', (s) => s.list()),
    inMemoryOnly: (fingerprint) => unwritten.has(fingerprint) || round.has(fingerprint),
  };
}
