/**
 * `submit-once/sw`: in your service worker, replays the outbox's held requests (same
 * IndexedDB items, same keys) on the Background Sync event the outbox registered, so they
 * are sent even after every page of the site was closed.
 *
 * @example
 * // sw.js
 * import { handleOutboxSync } from 'submit-once/sw'
 * self.addEventListener('sync', (event) => handleOutboxSync(event, { beforeReplay: addAuth }))
 */
export { handleOutboxSync, replayOutbox } from './handle-outbox-sync.js';
export { OutboxStillWaitingError } from './outbox-still-waiting-error.js';
export type { OutboxSyncOptions, SyncEventLike } from './handle-outbox-sync.js';
export type { Backoff } from '../outbox/lib/replay.js';
