/**
 * `submit-once/fetch`: a drop-in `fetch` that sends every non-idempotent request exactly
 * once as far as a client can: one key per intent, shared in-flight requests, safe retries.
 *
 * @example
 * import { idempotentFetch } from 'submit-once/fetch'
 * const response = await idempotentFetch('/orders', { method: 'POST', body: JSON.stringify(cart) })
 */
export { createIdempotentFetch, idempotentFetch } from './create-idempotent-fetch.js';
export type { IdempotentFetch, IdempotentFetchOptions, IdempotentRequestInit } from './create-idempotent-fetch.js';
export type { RequestIdempotency } from '../http/resolve-transport.js';
