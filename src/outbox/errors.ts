/** The outbox's typed errors: each a `SubmitOnceError` with its own `code`, so `isSubmitOnceError(error, 'outbox-full')` tells them apart across realms. */
import { SubmitOnceError, type SubmitOnceErrorOptions } from '../core/errors.js';

/**
 * The outbox cannot keep one more request: its `maxItems` or `maxBytes` bound, or the
 * browser's storage quota. Nothing was kept; the intent's key is, so trying again reuses it.
 */
export class OutboxFullError extends SubmitOnceError {
  override name = 'OutboxFullError' as const;
  constructor(
    readonly reason: 'items' | 'bytes' | 'quota',
    options?: SubmitOnceErrorOptions,
  ) {
    super('outbox-full', `The outbox is full (${reason}); the request was not kept.`, options);
  }
}

/** No IndexedDB here (or it cannot be opened): the outbox keeps nothing, and says so at once. */
export class OutboxUnavailableError extends SubmitOnceError {
  override name = 'OutboxUnavailableError' as const;
  constructor(options?: SubmitOnceErrorOptions) {
    super('outbox-unavailable', 'The outbox needs IndexedDB, which is not available here; the request was not kept.', options);
  }
}

/**
 * A held request will not be sent: `cancelled` by `outbox.cancel(id)`, or `expired` after
 * the outbox's `retention` (past the servers' key retention a replay could act twice).
 */
export class OutboxGaveUpError extends SubmitOnceError {
  override name = 'OutboxGaveUpError' as const;
  constructor(
    readonly id: string,
    readonly reason: 'cancelled' | 'expired',
  ) {
    super('outbox-gave-up', `The outbox gave up on ${id} (${reason}) and will not send it again.`);
  }
}

declare module '../core/errors.js' {
  interface SubmitOnceErrorByCode {
    'outbox-full': OutboxFullError;
    'outbox-unavailable': OutboxUnavailableError;
    'outbox-gave-up': OutboxGaveUpError;
  }
}
