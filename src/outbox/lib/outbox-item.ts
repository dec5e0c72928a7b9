/** What the outbox stores per held request, and the answer it records when a replay ends. */
import type { HeldRequest } from '../../core/outbox-port.js';

/** A final answer, buffered so it can be stored, broadcast to other tabs and read again. */
export interface StoredAnswer {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: ArrayBuffer;
}

/** The request modes a replay keeps: those whose answer can be stored (never `no-cors`, never `redirect: 'manual'`). */
export interface StoredInit {
  mode: 'cors' | 'same-origin';
  redirect: 'follow' | 'error';
  referrerPolicy: NonNullable<HeldRequest['referrerPolicy']>;
  cache: NonNullable<HeldRequest['cache']>;
  integrity: string;
}

export interface OutboxItem {
  /** Item schema version (the database has its own, `OUTBOX_VERSION`). */
  v: 1;
  /** The idempotency key: one item per key, so holding the same key twice keeps one. */
  id: string;
  key: string;
  fingerprint: string;
  method: string;
  /** Absolute, so a service worker resolves it as the page did. */
  url: string;
  /** Only allow-listed content headers and the key header: never credentials. */
  headers: [string, string][];
  /** The header among `headers` that carries the key. */
  keyHeader: string;
  body: ArrayBuffer | null;
  /** The request's credentials mode (a mode, no credential); items stored by an SDK without it replay `same-origin`. */
  credentials?: 'omit' | 'same-origin' | 'include';
  /** Its other modes (items stored by an SDK without them replay with fetch's defaults). */
  init?: StoredInit;
  createdAt: number;
  /** Order of holding, set when stored (items stored by an SDK without it have none: older). */
  seq?: number;
  /** Past this the item is given up: the servers have forgotten the key (default 24 h). */
  expiresAt: number;
  /** Replays sent so far (the page's own attempts before it was held are not counted). */
  attempts: number;
  /** The timer-driven replay waits until then; `online` and `flush()` do not. */
  nextAttemptAt: number;
  /**
   * `answered`: a replay got a final answer (recorded) that no page has reported yet.
   * `expired`: a service worker gave it up past `expiresAt`, unsent, and no page has reported that yet.
   */
  state: 'queued' | 'answered' | 'expired';
  answer?: StoredAnswer;
}

export function isOutboxItem(value: unknown): value is OutboxItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Partial<OutboxItem>;
  return item.v === 1 && typeof item.id === 'string' && typeof item.url === 'string' && (item.state === 'queued' || item.state === 'answered' || item.state === 'expired');
}

export function bytesOf(item: Pick<OutboxItem, 'body'>): number {
  return item.body?.byteLength ?? 0;
}
