/**
 * One key, two payloads (a caller-chosen `idempotency.key` reused for another order): a
 * server refuses the second (key reused). Both held offline, the outbox kept only the first
 * (one item per key) and handed the second submission the first one's answer: it resolved
 * "placed" and its order was never sent. It is refused when held instead, with the error the
 * server would give (`KeyReusedError`), and nothing of it kept.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOutbox, type Outbox } from '../../src/outbox/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
let outbox: Outbox;
let online = false;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
  online = false;
  outbox = createOutbox({ databaseName: 'same-key', locks: null, backgroundSync: false, online: () => online });
});
afterEach(async () => {
  outbox.close();
  vi.unstubAllGlobals();
  await server.close();
});

it('a second payload held under a key already held for another is refused with KeyReusedError; the first is replayed alone', async () => {
  const api = createIdempotentFetch({ store: memoryStore(), locks: null, outbox, queue: true });
  const order = (sku: string) => api(`${server.url}/orders`, { method: 'POST', body: `{"sku":"${sku}"}`, idempotency: { key: 'order-7' } });
  const first = order('A');
  await vi.waitFor(async () => expect(await outbox.list()).toHaveLength(1));
  const second = await Promise.race([order('B').then((response) => `resolved ${response.status}`, (error: unknown) => error), new Promise((resolve) => setTimeout(resolve, 500, 'still waiting'))]);
  expect(second).toMatchObject({ name: 'KeyReusedError', code: 'key-reused', key: 'order-7' });
  online = true;
  await outbox.flush();
  expect((await first).status).toBe(201);
  expect(server.seen.map((request) => request.body)).toEqual(['{"sku":"A"}']);
});

it('the same intent held again under its key (a reload, offline again) still waits for that one request', async () => {
  const held = { method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', 'k-r']] as [string, string][], body: 'x', keyHeader: 'Idempotency-Key', key: 'k-r', fingerprint: 'fp-r' };
  const first = await outbox.hold(held);
  const again = await outbox.hold(held);
  online = true;
  await outbox.flush();
  expect([(await first.answer).status, (await again.answer).status]).toEqual([201, 201]);
  expect(server.seen).toHaveLength(1);
});
