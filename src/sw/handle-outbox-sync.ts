/** The service worker's side of the outbox: one replay pass per Background Sync event. */
import type { Classifier, KeyReusedMatch } from '../core/classify.js';
import { InvalidOptionsError } from '../core/errors.js';
import type { LockManagerLike } from '../core/options.js';
import type { OutboxMessage } from '../outbox/lib/messages.js';
import { OUTBOX_DATABASE } from '../outbox/lib/schema.js';
import { outboxStore } from '../outbox/lib/outbox-store.js';
import { lockName, replayQueued, type Backoff } from '../outbox/lib/replay.js';
import { OUTBOX_DEFAULTS } from '../outbox/options.js';
import { OutboxStillWaitingError } from './outbox-still-waiting-error.js';

/** The part of a `SyncEvent` used (typed here: the DOM and WebWorker libs have no `SyncEvent`). */
export interface SyncEventLike {
  readonly tag: string;
  waitUntil(promise: Promise<unknown>): void;
}

export interface OutboxSyncOptions {
  /** Adds what was not stored (credentials) to each request, as the page's `beforeReplay`. */
  beforeReplay?: (request: Request) => Request | Promise<Request>;
  /** The outbox's database (default `submit-once-outbox`); `handleOutboxSync` reads it from the tag. */
  databaseName?: string;
  backoff?: Partial<Backoff>;
  /** How long one replay may take, in ms, as the page's outbox's `timeout` (default 60000). */
  timeout?: number;
  keyReused?: KeyReusedMatch;
  /** Judges each answer instead of the built-in classifier, as the page's outbox's `classify` (give both the same). */
  classify?: Classifier<Response>;
  fetch?: (request: Request) => Promise<Response>;
}

const TAG_PREFIX = lockName('');

/**
 * Handles the sync event if it is the outbox's (its tag names the database): true then.
 * The event's promise rejects while a request is still waiting, so the browser fires it
 * again later (Background Sync's own backoff). Takes the plain `Event` a TypeScript
 * listener is given (the libs have no `SyncEvent`) and checks it is one: an
 * `InvalidOptionsError` if it has no `tag` and `waitUntil`.
 */
export function handleOutboxSync(event: Event | SyncEventLike, options: OutboxSyncOptions = {}): boolean {
  const { tag, waitUntil } = event as Partial<SyncEventLike>;
  if (typeof tag !== 'string' || typeof waitUntil !== 'function') {
    throw new InvalidOptionsError('event', `expected a sync event (with tag and waitUntil), got a "${(event as Event).type}" event`);
  }
  if (!tag.startsWith(TAG_PREFIX)) return false;
  waitUntil.call(event, replayOutbox({ ...options, databaseName: tag.slice(TAG_PREFIX.length) }));
  return true;
}

/**
 * Replays every queued request once now; answers and give-ups are recorded for the next page (or the
 * open ones, told over a BroadcastChannel) to report. Rejects with `OutboxStillWaitingError` if some are still waiting.
 */
export async function replayOutbox(options: OutboxSyncOptions = {}): Promise<void> {
  const databaseName = options.databaseName ?? OUTBOX_DATABASE;
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  const reports = await replayQueued({
    databaseName,
    fetch: options.fetch ?? ((request) => globalThis.fetch(request)),
    beforeReplay: options.beforeReplay,
    locks: nav?.locks,
    now: Date.now,
    random: Math.random,
    backoff: { ...OUTBOX_DEFAULTS.backoff, ...options.backoff },
    timeout: options.timeout ?? OUTBOX_DEFAULTS.timeout,
    keyReused: options.keyReused,
    classify: options.classify,
    all: true,
    settle: 'record',
  });
  if (typeof BroadcastChannel === 'function' && reports.length > 0) {
    const channel = new BroadcastChannel(lockName(databaseName));
    // Answers and give-ups are recorded: an open page takes each record and reports it once.
    const recorded = reports.some((report) => report.kind !== 'deferred');
    const message: OutboxMessage = recorded ? { type: 'recorded' } : { type: 'changed' };
    channel.postMessage(message);
    channel.close();
  }
  // Read again: a pass stops sending to an origin it takes as down, so some were not even tried.
  const waiting = (await outboxStore(databaseName).all()).filter((item) => item.state === 'queued').map((item) => item.id);
  if (waiting.length > 0) throw new OutboxStillWaitingError(waiting);
}
