/**
 * Where the e2e test server listens. Shared by playwright.config.ts, the server and the
 * specs, so one env variable moves all of them.
 */
export const E2E_PORT = Number(process.env.E2E_PORT ?? 4317);

/** 127.0.0.1 over plain http is a secure context (a "potentially trustworthy" origin). */
export const SECURE_ORIGIN = `http://127.0.0.1:${E2E_PORT}`;

/**
 * A name Chromium maps to 127.0.0.1 (`--host-resolver-rules`): plain http on a host that
 * is not loopback by name, so the page is NOT a secure context and `crypto.randomUUID`,
 * `crypto.subtle` and `navigator.locks` are missing, as on many intranet apps.
 */
export const NON_SECURE_HOST = 'submit-once.test';
export const NON_SECURE_ORIGIN = `http://${NON_SECURE_HOST}:${E2E_PORT}`;
