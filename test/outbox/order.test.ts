/**
 * Held requests are replayed in the order they were held, also when several are held in
 * the same millisecond (a batch saved offline at once): create before update.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
let outbox: Outbox | undefined;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
});
afterEach(async () => {
  outbox?.close();
  vi.unstubAllGlobals();
  await server.close();
});

const held = (key: string) => ({ method: 'POST', url: `${server.url}/items/${key}`, headers: [['idempotency-key', key]] as [string, string][], body: key, keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });

it('requests held in the same millisecond are listed and replayed in the order held, whatever their keys', async () => {
  let online = false;
  const at = Date.now();
  outbox = createOutbox({ databaseName: 'order', locks: null, now: () => at, online: () => online });
  // Random keys sort any way; these sort opposite to the order they are held in.
  for (const key of ['k-3', 'k-2', 'k-1']) await outbox.hold(held(key));
  expect((await outbox.list()).map((item) => item.key)).toEqual(['k-3', 'k-2', 'k-1']);
  online = true;
  await outbox.flush();
  expect(server.seen.map((request) => request.key)).toEqual(['k-3', 'k-2', 'k-1']);
});
