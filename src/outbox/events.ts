/** What the outbox tells its listeners, one event per held request's step. */

/** A held request as `outbox.list()` and the events show it (no body, no headers). */
export interface PendingSubmission {
  /** Its idempotency key, which is also its id. */
  id: string;
  key: string;
  /** Of the intent: the key store's record of it is settled when the request is answered. */
  fingerprint: string;
  method: string;
  url: string;
  createdAt: number;
  /** Replays sent so far. */
  attempts: number;
  /** When the backoff timer will replay it next (`online` and `flush()` do not wait). */
  nextAttemptAt: number;
  /**
   * `answered`: a replay from the service worker got its final answer, not yet reported to a page.
   * `expired`: the service worker gave it up past `retention`, unsent, not yet reported to a page.
   */
  state: 'queued' | 'answered' | 'expired';
}

export type OutboxEvent =
  /** Kept, to be sent later with its key. */
  | { type: 'queued'; item: PendingSubmission }
  /** A replay got no final answer (network error, 5xx, 429…): kept, replayed later. */
  | { type: 'deferred'; item: PendingSubmission; status?: number | undefined }
  /** A replay got the final answer (2xx to 4xx, key reused…): the request is done; `status` is the answer's. */
  | { type: 'replayed'; item: PendingSubmission; status: number }
  /** Not sent again: `cancelled`, or `expired` (past `retention`). */
  | { type: 'given-up'; item: PendingSubmission; reason: 'cancelled' | 'expired' };

export type OutboxEventListener = (event: OutboxEvent) => void;
