/**
 * `submit-once/axios`: installs submit-once on an axios instance (see `installIdempotency`).
 *
 * @example
 * import axios from 'axios'
 * import { installIdempotency } from 'submit-once/axios'
 * const api = axios.create({ baseURL: '/api' })
 * const uninstall = installIdempotency(api, { scope: () => session.userId })
 * await api.post('/orders', cart) // carries Idempotency-Key, retried safely, sent once
 */
export { installIdempotency } from './install-idempotency.js';
export type { AxiosIdempotencyOptions } from './install-idempotency.js';
export type { RequestIdempotency } from '../http/resolve-transport.js';
