/** Outbox defaults and option normalisation, in one place. */
import type { Classifier, KeyReusedMatch } from '../core/classify.js';
import { InvalidOptionsError } from '../core/errors.js';
import type { LockManagerLike } from '../core/options.js';
import { OUTBOX_DATABASE } from './lib/schema.js';
import type { Backoff } from './lib/replay.js';
import { DEFAULT_ALLOWED_HEADERS, NEVER_STORED } from './lib/storable-request.js';
import type { OutboxEventListener } from './events.js';

export interface OutboxOptions {
  /** Another database name, to keep apps on one origin apart. Default `submit-once-outbox`. */
  databaseName?: string;
  /** How long a held request may wait, in ms; then it is given up (default 24 h, the servers' key retention). */
  retention?: number;
  /** At most this many held requests (default 50); one more is an `OutboxFullError`. */
  maxItems?: number;
  /** At most this many body bytes in all (default 5 MiB); more is an `OutboxFullError`. */
  maxBytes?: number;
  /**
   * Request headers kept besides `content-type`, `content-language`, `accept` and
   * `accept-language` (and the key header). `authorization` and `cookie` are refused.
   */
  headers?: readonly string[];
  /**
   * Makes a held request sendable again: add what was not stored (an `Authorization`
   * header from your current session). A throw leaves it for a later replay.
   */
  beforeReplay?: (request: Request) => Request | Promise<Request>;
  /**
   * How long one replay may take in ms (`beforeReplay`, the request, reading its answer);
   * past it the replay is aborted and counts as failed: kept, sent again later with its key
   * (default 60000). Give more where a held body may take longer to upload.
   */
  timeout?: number;
  /** Waits between replays that got no final answer, in ms (default `{ baseDelay: 1000, maxDelay: 300000 }`). */
  backoff?: Partial<Backoff>;
  /** Other servers' "key reused" answers, as the submitter's `keyReused`. */
  keyReused?: KeyReusedMatch;
  /**
   * Judges each replay's answer instead of the built-in classifier (which `keyReused`
   * feeds): an `ambiguous` verdict keeps the request for a later replay (its `retryAfterMs`
   * paces it), any other ends it with the answer; a throw ends it too. A submission waiting
   * in this page may also end it by its own `classify`; after a reload and in the service
   * worker only this one decides (give `handleOutboxSync` the same).
   */
  classify?: Classifier<Response>;
  onEvent?: OutboxEventListener;
  /**
   * Register a Background Sync (where a service worker and the API exist) so the service
   * worker's `handleOutboxSync` replays after the page is gone. Default true.
   */
  backgroundSync?: boolean;
  /** Injectable: the fetch replays use, the clock, the random source, the online signal, the lock manager (`null`: none). */
  fetch?: (request: Request) => Promise<Response>;
  now?: () => number;
  random?: () => number;
  online?: () => boolean;
  locks?: LockManagerLike | null;
}

export interface ResolvedOutboxOptions {
  databaseName: string;
  retention: number;
  limits: { maxItems: number; maxBytes: number };
  allowed: ReadonlySet<string>;
  beforeReplay: OutboxOptions['beforeReplay'];
  backoff: Backoff;
  timeout: number;
  keyReused: KeyReusedMatch | undefined;
  classify: Classifier<Response> | undefined;
  onEvent: OutboxEventListener | undefined;
  backgroundSync: boolean;
  fetch: (request: Request) => Promise<Response>;
  now: () => number;
  random: () => number;
  online: () => boolean;
  locks: LockManagerLike | undefined;
}

export const OUTBOX_DEFAULTS = Object.freeze({
  retention: 24 * 60 * 60 * 1000,
  maxItems: 50,
  maxBytes: 5 * 1024 * 1024,
  backoff: Object.freeze({ baseDelay: 1000, maxDelay: 300_000 }),
  timeout: 60_000,
});

export function resolveOutboxOptions(options: OutboxOptions): ResolvedOutboxOptions {
  const extra = (options.headers ?? []).map((name) => name.toLowerCase());
  const refused = extra.find((name) => NEVER_STORED.includes(name));
  if (refused) throw new InvalidOptionsError('headers', `"${refused}" is never stored; re-apply it in beforeReplay`);
  const nav = (globalThis as { navigator?: { onLine?: boolean; locks?: LockManagerLike } }).navigator;
  return {
    databaseName: options.databaseName ?? OUTBOX_DATABASE,
    retention: positive('retention', options.retention ?? OUTBOX_DEFAULTS.retention),
    limits: {
      maxItems: positive('maxItems', options.maxItems ?? OUTBOX_DEFAULTS.maxItems),
      maxBytes: positive('maxBytes', options.maxBytes ?? OUTBOX_DEFAULTS.maxBytes),
    },
    allowed: new Set([...DEFAULT_ALLOWED_HEADERS, ...extra]),
    beforeReplay: options.beforeReplay,
    backoff: {
      baseDelay: positive('backoff.baseDelay', options.backoff?.baseDelay ?? OUTBOX_DEFAULTS.backoff.baseDelay),
      maxDelay: positive('backoff.maxDelay', options.backoff?.maxDelay ?? OUTBOX_DEFAULTS.backoff.maxDelay),
    },
    timeout: positive('timeout', options.timeout ?? OUTBOX_DEFAULTS.timeout),
    keyReused: options.keyReused,
    classify: options.classify,
    onEvent: options.onEvent,
    backgroundSync: options.backgroundSync !== false,
    // Looked up at call time, so a test or an app can swap the global fetch later.
    fetch: options.fetch ?? ((request) => globalThis.fetch(request)),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    online: options.online ?? (() => nav?.onLine !== false),
    locks: options.locks === null ? undefined : (options.locks ?? (typeof nav?.locks?.request === 'function' ? nav.locks : undefined)),
  };
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) throw new InvalidOptionsError(name, `expected a number > 0, got ${String(value)}`);
  return value;
}
