import { SubmitOnceError } from '../core/errors.js';

/**
 * `replayOutbox` sent what it could, but these held requests got no final answer (network
 * error, 5xx, 429…): they stay held, and the sync event's promise rejects with this so the
 * browser fires it again later. Not a failure to report: nothing was lost.
 */
export class OutboxStillWaitingError extends SubmitOnceError {
  override name = 'OutboxStillWaitingError' as const;
  constructor(
    /** The keys (ids) of the requests still waiting, oldest first. */
    readonly ids: readonly string[],
  ) {
    super('outbox-still-waiting', `${ids.length} held request(s) still waiting for a final answer`);
  }
}

declare module '../core/errors.js' {
  interface SubmitOnceErrorByCode {
    'outbox-still-waiting': OutboxStillWaitingError;
  }
}
