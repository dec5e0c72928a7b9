/**
 * axios, two "tabs" (two instances with their own engines, sharing one store, as tabs
 * share IndexedDB) submitting one intent at once: one request, the same data in both.
 */
import axios from 'axios';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import type { LockManagerLike } from '../../src/core/options.js';
import { fakeLocks } from '../core/fake-locks.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

const locks = fakeLocks();

async function twoTabs(coordination: LockManagerLike | null) {
  server.fallback = { status: 201, headers: { 'content-type': 'application/json', 'x-order': '7' }, body: '{"orderId":7}', delayMs: 200 };
  const store = memoryStore();
  const [first, second] = [axios.create(), axios.create()];
  installIdempotency(first, { store, locks: coordination });
  installIdempotency(second, { store, locks: coordination });
  await new Promise((resolve) => setTimeout(resolve, 5)); // the tab's lifetime lock is granted
  const owner = first.post(`${server.url}/orders`, { sku: 'AX' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const waiter = second.post(`${server.url}/orders`, { sku: 'AX' });
  return Promise.all([owner, waiter]);
}

it('the second tab gets the owner’s status, headers and data; one request', async () => {
  const [a, b] = await twoTabs(locks);
  expect(server.seen).toHaveLength(1);
  expect(b.status).toBe(201);
  expect(b.data).toEqual({ orderId: 7 });
  expect(b.data).toEqual(a.data);
  expect(b.headers['x-order']).toBe('7');
});

it('control, coordination off: two requests with one key', async () => {
  await twoTabs(null);
  expect(server.seen).toHaveLength(2);
  expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
});
