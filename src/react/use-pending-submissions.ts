/** `usePendingSubmissions`: the requests an outbox still holds, for "2 orders waiting to be sent". */
import { useSyncExternalStore } from 'react';
import type { PendingSubmission } from '../outbox/events.js';

/** The part of an outbox (`createOutbox()` from `submit-once/outbox`) the hook reads. */
export interface PendingSubmissionsSource {
  snapshot(): readonly PendingSubmission[];
  watch(onChange: () => void): () => void;
}

const NONE: readonly PendingSubmission[] = Object.freeze([]);

/**
 * Re-renders when the outbox's queued requests change (in this tab or another).
 *
 * @example
 * const pending = usePendingSubmissions(outbox)
 * return pending.length > 0 && <p>{pending.length} order(s) waiting to be sent</p>
 */
export function usePendingSubmissions(outbox: PendingSubmissionsSource): readonly PendingSubmission[] {
  return useSyncExternalStore(outbox.watch, outbox.snapshot, () => NONE);
}
