/** The demo's token mode, shared by the page and the API: where tokens come from, where token-keyed orders go. */

/** `GET`: a one-time key for this page, `{ token, expiresAt }`. */
export const TOKEN_PATH = '/api/token';
/** `POST`: an order whose key must be a token this server issued. */
export const TOKEN_ORDERS_PATH = '/api/token/orders';

/** The demo's own secret: a real server reads its secrets (newest first) from its configuration. */
export const DEMO_TOKEN_SECRET = 'demo-only-secret-never-use-in-production-0123';
