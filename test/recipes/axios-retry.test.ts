/**
 * README recipe "axios-retry": both retry, so one side must not. Here axios-retry owns the
 * retries (POST included, its default condition leaves POST out) and submit-once has
 * `retry: false`; every resend re-enters axios with the key already on its headers and
 * keeps it. Without `retry: false`, each axios-retry attempt would run the engine's three.
 */
import axios from 'axios';
import axiosRetry, { isNetworkError, isRetryableError } from 'axios-retry';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

it('axios-retry retries, submit-once does not: three requests for three attempts, one key', async () => {
  server.replies = [{ status: 503 }, { drop: true }];
  // --- the recipe (README, "Recipes: axios-retry") ---
  const api = axios.create({ baseURL: server.url });
  installIdempotency(api, { retry: false });
  axiosRetry(api, {
    retries: 3,
    retryDelay: axiosRetry.exponentialDelay,
    // POST is not retried by axios-retry's default condition; with a key it is safe.
    retryCondition: (error) => isNetworkError(error) || isRetryableError(error),
  });
  const response = await api.post('/orders', { sku: 'X', qty: 1 });
  // --- end ---
  expect(response.status).toBe(201);
  expect(server.seen).toHaveLength(3);
  const key = server.seen[0]?.key;
  expect(key).toBeTruthy();
  expect(server.seen.map((r) => r.key)).toEqual([key, key, key]);
});

it('control: without retry: false both sides retry, each axios-retry attempt running the engine\'s three', async () => {
  server.replies = [];
  server.fallback = { status: 503 };
  const before = server.seen.length;
  try {
    const api = axios.create({ baseURL: server.url });
    installIdempotency(api, { retry: { attempts: 3, baseDelay: 1, maxDelay: 2 } });
    axiosRetry(api, { retries: 1, retryDelay: () => 1, retryCondition: (error) => isNetworkError(error) || isRetryableError(error) });
    await expect(api.post('/orders', { sku: 'X', qty: 2 })).rejects.toMatchObject({ response: { status: 503 } });
    expect(server.seen.length - before).toBe(6);
  } finally {
    server.fallback = { status: 201, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
  }
});
