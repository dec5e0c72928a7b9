/**
 * README recipe "Which key was used": supply the key (fetch, axios, ky), read it from
 * axios's `response.config.headers`, or from the `settled` event (`onEvent`).
 */
import axios from 'axios';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memoryStore, newKey, type SubmitEvent } from '../../src/index.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { installIdempotency } from '../../src/axios/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

it('fetch: a key the caller mints and passes is the key sent', async () => {
  const api = createIdempotentFetch({ store: memoryStore() });
  const key = newKey();
  await api(`${server.url}/orders`, { method: 'POST', body: '{"sku":"R"}', idempotency: { key } });
  expect(server.seen.at(-1)?.key).toBe(key);
});

it('axios: response.config.headers carries the key that was sent', async () => {
  const api = axios.create({ baseURL: server.url });
  installIdempotency(api, { store: memoryStore() });
  const response = await api.post('/orders', { sku: 'R', qty: 2 });
  expect(response.config.headers.get('Idempotency-Key')).toBe(server.seen.at(-1)?.key);
});

it('onEvent: the settled event names the key and the status', async () => {
  const settled: SubmitEvent[] = [];
  const api = createIdempotentFetch({ store: memoryStore(), onEvent: (event) => event.type === 'settled' && settled.push(event) });
  const response = await api(`${server.url}/orders`, { method: 'POST', body: '{"sku":"R","qty":3}' });
  expect(response.status).toBe(201);
  expect(settled).toEqual([expect.objectContaining({ type: 'settled', outcome: 'success', status: 201, key: server.seen.at(-1)?.key })]);
});
