/**
 * README recipe "ky": ky 1 takes submit-once's fetch as its `fetch` option; the engine
 * keys and retries the POST (ky does not retry POST by default; `retry: 0` says so). To
 * know the key, supply it: a key already on the request is kept. ky 2 needs Node 22, so it
 * runs in Chromium (e2e/dialects-recipes.spec.ts).
 */
import ky from 'ky';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newKey } from '../../src/index.js';
import { idempotentFetch } from '../../src/fetch/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

it('ky 1 with fetch: idempotentFetch: a 503 and a drop are retried by submit-once with one key', async () => {
  server.replies = [{ status: 503 }, { drop: true }];
  // --- the recipe (README, "Recipes: ky") ---
  const api = ky.create({ prefixUrl: server.url, fetch: idempotentFetch, retry: 0 });
  const order = await api.post('orders', { json: { sku: 'K', qty: 1 } }).json<{ ok: boolean }>();
  // --- end ---
  expect(order).toEqual({ ok: true });
  const key = server.seen[0]?.key;
  expect(key).toBeTruthy();
  expect(server.seen.map((r) => r.key)).toEqual([key, key, key]);
});

it('ky 1: a key supplied in the headers is the one sent, so the caller knows it', async () => {
  const api = ky.create({ prefixUrl: server.url, fetch: idempotentFetch, retry: 0 });
  const key = newKey();
  await api.post('orders', { json: { sku: 'K', qty: 2 }, headers: { 'Idempotency-Key': key } });
  expect(server.seen.at(-1)?.key).toBe(key);
});
