/**
 * `submit-once/outbox`: submissions made offline (or ending ambiguous) kept in IndexedDB
 * with their idempotency key and replayed later with that key, once.
 *
 * @example
 * import { createOutbox } from 'submit-once/outbox'
 * import { createIdempotentFetch } from 'submit-once/fetch'
 * const outbox = createOutbox()
 * const api = createIdempotentFetch({ outbox, queue: true })
 */
export { createOutbox, syncTag } from './outbox.js';
export type { Outbox } from './outbox.js';
export type { OutboxOptions } from './options.js';
export { OUTBOX_DEFAULTS } from './options.js';
export type { Backoff } from './lib/replay.js';
export type { OutboxEvent, OutboxEventListener, PendingSubmission } from './events.js';
export { OutboxFullError, OutboxGaveUpError, OutboxUnavailableError } from './errors.js';
export { OUTBOX_DATABASE, OUTBOX_VERSION, ITEMS_STORE } from './lib/schema.js';
export type { HeldRequest, OutboxPort } from '../core/outbox-port.js';
