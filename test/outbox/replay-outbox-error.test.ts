/**
 * `replayOutbox` rejects while a held request still waits (so Background Sync fires
 * again): with a typed error a service worker can tell from its own bugs, naming what waits.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { isSubmitOnceError, SubmitOnceError } from '../../src/core/errors.js';
import { createOutbox } from '../../src/outbox/index.js';
import { OutboxStillWaitingError, replayOutbox } from '../../src/sw/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
let counter = 0;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await server.close();
});

it('a request answered 503 still waits: the pass rejects with OutboxStillWaitingError naming it, and it stays held', async () => {
  const databaseName = `replay-error-${++counter}`;
  const outbox = createOutbox({ databaseName, locks: null, online: () => false });
  await outbox.hold({ method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', 'k-w']], body: 'x', keyHeader: 'Idempotency-Key', key: 'k-w', fingerprint: 'fp-w' });
  outbox.close();
  server.fallback = { status: 503 };

  const error = await replayOutbox({ databaseName }).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(OutboxStillWaitingError);
  expect(error).toBeInstanceOf(SubmitOnceError);
  expect(isSubmitOnceError(error, 'outbox-still-waiting')).toBe(true);
  expect(error).toMatchObject({ name: 'OutboxStillWaitingError', ids: ['k-w'] });
  expect((error as Error).message).toMatch(/1 held request.*still waiting/);
  expect(server.seen.map((r) => r.key)).toEqual(['k-w']);

  server.fallback = { status: 201 };
  await expect(replayOutbox({ databaseName })).resolves.toBeUndefined();
});

it('the network down: the pass stops after three requests got no answer, and the error names every request still held, also those not tried', async () => {
  const databaseName = `replay-error-${++counter}`;
  const outbox = createOutbox({ databaseName, locks: null, online: () => false, now: (() => {
    let t = 0;
    return () => Date.now() + (t += 1);
  })() });
  for (const key of ['k-a', 'k-b', 'k-c', 'k-d']) {
    await outbox.hold({ method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', key]], body: 'x', keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });
  }
  outbox.close();
  const tried: string[] = [];
  const fetch = (request: Request) => {
    tried.push(request.headers.get('idempotency-key') ?? '');
    return Promise.reject(new TypeError('Failed to fetch'));
  };
  const error = await replayOutbox({ databaseName, fetch }).then(() => undefined, (caught: unknown) => caught);
  expect(tried).toEqual(['k-a', 'k-b', 'k-c']);
  expect(error).toMatchObject({ code: 'outbox-still-waiting', ids: ['k-a', 'k-b', 'k-c', 'k-d'] });
});
