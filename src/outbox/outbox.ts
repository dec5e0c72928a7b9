/**
 * `createOutbox`: keeps submissions that cannot be sent now (offline, or ending ambiguous)
 * in IndexedDB with their idempotency key, and replays each with that key until it gets
 * a final answer: on `online`, when a page loads, on `flush()`, and on a backoff timer;
 * from a service worker after the page is gone (`submit-once/sw`).
 */
import { isSubmitOnceError, KeyReusedError, SubmissionAbortedError } from '../core/errors.js';
import type { HeldRequest, OutboxPort } from '../core/outbox-port.js';
import { OutboxGaveUpError, OutboxUnavailableError } from './errors.js';
import type { OutboxEvent, OutboxEventListener, PendingSubmission } from './events.js';
import type { OutboxMessage } from './lib/messages.js';
import type { OutboxItem, StoredAnswer } from './lib/outbox-item.js';
import { outboxStore } from './lib/outbox-store.js';
import { lockName, replayDelay, replayQueued, type ReplayReport } from './lib/replay.js';
import { toItem, toResponse } from './lib/storable-request.js';
import { resolveOutboxOptions, type OutboxOptions } from './options.js';

export interface Outbox extends OutboxPort {
  /** Every held request, oldest first. */
  list(): Promise<PendingSubmission[]>;
  /** The queued requests as last read, for `useSyncExternalStore` (same array until a change). */
  snapshot(): readonly PendingSubmission[];
  /** Calls `onChange` whenever `snapshot()` changed (also from another tab); returns the unsubscribe. */
  watch(onChange: () => void): () => void;
  /**
   * Stops replaying a held request; its waiting submission rejects with `OutboxGaveUpError`.
   * False if it is not held (any more). A replay already on the wire still completes.
   */
  cancel(id: string): Promise<boolean>;
  /** Replays every queued request now (one tab of the origin at a time); resolves when done. */
  flush(): Promise<void>;
  subscribe(listener: OutboxEventListener): () => void;
  /**
   * Stops listening (online, other tabs, timers); held requests stay for the next page or the
   * service worker. Submissions still waiting for an answer reject with `SubmissionAbortedError`.
   */
  close(): void;
}

interface Waiter {
  resolve: (answer: Response) => void;
  reject: (error: unknown) => void;
}

/** Background Sync tag (and BroadcastChannel name) of an outbox database. */
export const syncTag = lockName;

/**
 * @example
 * const outbox = createOutbox({ beforeReplay: (request) => withAuth(request) })
 * const api = createIdempotentFetch({ outbox, queue: true })
 * outbox.subscribe((event) => event.type === 'replayed' && toast(`Order sent (${event.status})`))
 */
export function createOutbox(options: OutboxOptions = {}): Outbox {
  const config = resolveOutboxOptions(options);
  const store = outboxStore(config.databaseName);
  const available = typeof indexedDB !== 'undefined';
  const listeners = new Set<OutboxEventListener>();
  if (config.onEvent) listeners.add(config.onEvent);
  const watchers = new Set<() => void>();
  /** Submissions of this page waiting for their request's final answer, by id. */
  const waiters = new Map<string, Waiter[]>();
  /** The rules (`HeldRequest.isFinal`) of the submissions held in this page, by id, until their item ends. */
  const rules = new Map<string, NonNullable<HeldRequest['isFinal']>>();
  const channel = available && typeof BroadcastChannel === 'function' ? new BroadcastChannel(syncTag(config.databaseName)) : undefined;
  /**
   * Answers reported in this page: an engine made after them (a guard's or a hook's, made
   * at its first click) must still retire their keys, or its next submission of the same
   * intent would be answered with the old one's replay and never run.
   */
  const reported: { key: string; fingerprint: string; at: number }[] = [];
  let snapshot: readonly PendingSubmission[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let passes: Promise<unknown> = Promise.resolve();
  let closed = false;

  function emit(event: OutboxEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not stop a replay's bookkeeping.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  function subscribe(listener: OutboxEventListener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  function post(message: OutboxMessage): void {
    // A pass still running when the page closed the outbox has nobody to tell.
    if (!closed) channel?.postMessage(message);
  }

  function settleWaiters(id: string, outcome: { answer: StoredAnswer } | { error: unknown }): void {
    const waiting = waiters.get(id) ?? [];
    waiters.delete(id);
    rules.delete(id);
    for (const waiter of waiting) {
      if ('answer' in outcome) waiter.resolve(toResponse(outcome.answer));
      else waiter.reject(outcome.error);
    }
  }

  /** Re-reads the queued requests for `snapshot()`, and tells the watchers. */
  async function refresh(): Promise<void> {
    if (!available) return;
    const queued = (await store.all().catch(() => [])).filter((item) => item.state === 'queued').map(summary);
    if (sameItems(queued, snapshot)) return;
    snapshot = queued;
    for (const onChange of watchers) onChange();
  }

  function answered(item: PendingSubmission, answer: StoredAnswer): void {
    reported.push({ key: item.key, fingerprint: item.fingerprint, at: config.now() });
    emit({ type: 'replayed', item, status: answer.status });
    settleWaiters(item.id, { answer });
  }

  function gaveUp(item: PendingSubmission, reason: 'cancelled' | 'expired'): void {
    emit({ type: 'given-up', item, reason });
    settleWaiters(item.id, { error: new OutboxGaveUpError(item.id, reason) });
  }

  function report(reports: ReplayReport[]): void {
    for (const entry of reports) {
      const item = summary(entry.item);
      if (entry.kind === 'answered') {
        answered(item, entry.answer);
        post({ type: 'answered', item, answer: entry.answer });
      } else if (entry.kind === 'expired') {
        gaveUp(item, 'expired');
        post({ type: 'given-up', item, reason: 'expired' });
      } else emit({ type: 'deferred', item, status: entry.status });
    }
    if (reports.length > 0) post({ type: 'changed' });
  }

  /** One replay pass at a time in this page; across pages the pass's Web Lock orders them. */
  function replay(all: boolean): Promise<void> {
    const pass = passes.then(async () => {
      if (closed || !available || !config.online()) return;
      const isFinal = async (id: string, answer: Response, now: number) => (await rules.get(id)?.(answer, now)) === true;
      report(await replayQueued({ ...config, all, settle: 'remove', isFinal }));
    });
    passes = pass.catch(() => undefined);
    return pass.finally(() => {
      void refresh();
      void schedule();
    });
  }

  /** Answers and give-ups a service worker recorded while no page was open (or in another tab's time): reported here once. */
  async function takeRecorded(): Promise<void> {
    for (const item of await store.all()) {
      const answer = item.state === 'answered' ? item.answer : undefined;
      if (!answer && item.state !== 'expired') continue;
      // Whoever deletes the record reports it: two pages loading at once report it once.
      if (!(await store.update(item.id, () => null))) continue;
      if (answer) {
        answered(summary(item), answer);
        post({ type: 'answered', item: summary(item), answer });
      } else {
        gaveUp(summary(item), 'expired');
        post({ type: 'given-up', item: summary(item), reason: 'expired' });
      }
    }
    await refresh();
  }

  /** The backoff timer: wakes for the earliest queued request that is due. */
  async function schedule(): Promise<void> {
    // Offline, the `online` event replays; a timer would only find the network down.
    if (closed || !available || !config.online()) return;
    const due = (await store.all().catch(() => [])).filter((item) => item.state === 'queued').map((item) => item.nextAttemptAt);
    clearTimeout(timer);
    timer = undefined;
    if (due.length === 0 || closed) return;
    // Capped: a timer longer than 2^31-1 ms fires at once.
    timer = setTimeout(() => void replay(false), Math.min(2 ** 31 - 1, Math.max(0, Math.min(...due) - config.now())));
  }

  const onOnline = () => void replay(true);
  if (available) {
    globalThis.addEventListener?.('online', onOnline);
    if (channel) {
      channel.onmessage = ({ data }: MessageEvent<OutboxMessage>) => {
        if (data.type === 'answered') answered(data.item, data.answer);
        else if (data.type === 'given-up') gaveUp(data.item, data.reason);
        else if (data.type === 'recorded') return void takeRecorded().catch(() => undefined);
        void refresh();
      };
    }
    // After the caller's synchronous setup (subscribe), so it hears what the last visit left.
    setTimeout(() => {
      if (closed) return;
      void takeRecorded()
        .catch(() => undefined)
        .then(() => replay(true));
    }, 0);
  }

  async function hold(held: HeldRequest, signal?: AbortSignal): Promise<{ id: string; answer: Promise<Response> }> {
    if (!available) throw new OutboxUnavailableError();
    const now = config.now();
    // Held offline: due as soon as the connection is back. Held after an ambiguous end: after a backoff step.
    const nextAttemptAt = config.online() ? now + replayDelay(1, config.backoff, config.random) : now;
    const item = await toItem(held, config.allowed, { now, retention: config.retention, nextAttemptAt });
    // Its key is older than the servers' retention: a replay could act twice. Told now, not once online.
    if (item.expiresAt <= now) throw new OutboxGaveUpError(item.id, 'expired');
    let standing: OutboxItem | undefined;
    try {
      standing = await store.add(item, config.limits);
    } catch (error) {
      throw isSubmitOnceError(error) ? error : new OutboxUnavailableError({ cause: error });
    }
    // Its key already carries another intent's request: waiting on that one's answer would
    // drop this one unsent. Refused as a server refuses it (no answer yet: status 0).
    if (standing && standing.fingerprint !== item.fingerprint) throw new KeyReusedError(item.key, 0);
    if (held.isFinal && !closed) rules.set(item.id, held.isFinal);
    let onAbort!: () => void;
    const answer = new Promise<Response>((resolve, reject) => {
      const waiter = { resolve, reject };
      waiters.set(item.id, [...(waiters.get(item.id) ?? []), waiter]);
      // Stops this wait only: the request stays held and is still sent.
      onAbort = () => {
        waiters.set(item.id, (waiters.get(item.id) ?? []).filter((other) => other !== waiter));
        reject(new SubmissionAbortedError(item.key, { cause: signal?.reason }));
      };
      // Closed, this page hears no answer: the wait ends as an abort's does.
      if (signal?.aborted || closed) onAbort();
      signal?.addEventListener('abort', onAbort);
    });
    // Whoever holds it may stop waiting (an aborted submission): no unhandled rejection then.
    // Settled, it stops listening: a long-lived signal would keep one listener per hold.
    void answer.catch(() => undefined).then(() => signal?.removeEventListener('abort', onAbort));
    if (!standing) {
      emit({ type: 'queued', item: summary(item) });
      post({ type: 'changed' });
      if (config.backgroundSync) registerSync(syncTag(config.databaseName));
    }
    void refresh();
    void schedule();
    return { id: item.id, answer };
  }

  return {
    offline: () => !config.online(),
    hold,
    list: async () => (available ? (await store.all()).map(summary) : []),
    snapshot: () => snapshot,
    watch(onChange) {
      watchers.add(onChange);
      return () => watchers.delete(onChange);
    },
    async cancel(id) {
      if (!available) return false;
      const before = await store.update(id, (current) => (current?.state === 'queued' ? null : undefined));
      if (before?.state !== 'queued') return false;
      gaveUp(summary(before), 'cancelled');
      post({ type: 'given-up', item: summary(before), reason: 'cancelled' });
      await refresh();
      return true;
    },
    flush: () => replay(true),
    subscribe,
    onAnswer(listener) {
      reported.forEach(listener);
      return subscribe((event) => event.type === 'replayed' && listener(event.item));
    },
    close() {
      closed = true;
      // Nobody would settle these waits any more (no pass, no message): they end, the requests stay held.
      for (const id of waiters.keys()) settleWaiters(id, { error: new SubmissionAbortedError(id) });
      rules.clear();
      clearTimeout(timer);
      globalThis.removeEventListener?.('online', onOnline);
      channel?.close();
    },
  };
}

function summary(item: OutboxItem): PendingSubmission {
  const { id, key, fingerprint, method, url, createdAt, attempts, nextAttemptAt, state } = item;
  return { id, key, fingerprint, method, url, createdAt, attempts, nextAttemptAt, state };
}

function sameItems(a: readonly PendingSubmission[], b: readonly PendingSubmission[]): boolean {
  return a.length === b.length && a.every((item, i) => JSON.stringify(item) === JSON.stringify(b[i]));
}

/** Asks the service worker (if one controls the page and Background Sync exists) to replay after the page is gone. */
function registerSync(tag: string): void {
  const container = (globalThis as { navigator?: { serviceWorker?: { getRegistration(): Promise<unknown> } } }).navigator?.serviceWorker;
  void container
    ?.getRegistration()
    .then((registration) => (registration as { sync?: { register(tag: string): Promise<void> } } | undefined)?.sync?.register(tag))
    .catch(() => undefined);
}
