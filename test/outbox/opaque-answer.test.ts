/**
 * A replay's answer with status 0 (opaque: a `beforeReplay` that sets `mode: 'no-cors'` or
 * `redirect: 'manual'`, a `fetch` giving `Response.error()`) cannot be stored or handed back
 * (the Response constructor refuses status 0). It was taken as a final answer: the item
 * removed, then handing it to the waiting submission threw, so that submission never
 * settled and the request was gone. It is a failed replay instead: kept, replayed later.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox, type OutboxEvent } from '../../src/outbox/index.js';

beforeEach(() => void vi.stubGlobal('indexedDB', new IDBFactory()));
afterEach(() => void vi.unstubAllGlobals());

it('a status-0 answer keeps the request (deferred); the next replay that gets an answer settles the waiting submission', async () => {
  let online = false;
  let answerWith = () => Response.error();
  const events: OutboxEvent['type'][] = [];
  const outbox = createOutbox({ databaseName: 'opaque', locks: null, backgroundSync: false, online: () => online, fetch: async () => answerWith(), onEvent: (event) => events.push(event.type) });
  const { answer } = await outbox.hold({ method: 'POST', url: 'https://shop.test/orders', headers: [['idempotency-key', 'k-o']], body: 'x', keyHeader: 'Idempotency-Key', key: 'k-o', fingerprint: 'fp-o' });
  online = true;
  await outbox.flush();
  expect((await outbox.list()).map((item) => item.id)).toEqual(['k-o']);
  expect(events).toEqual(['queued', 'deferred']);
  answerWith = () => new Response('{"id":1}', { status: 201 });
  await outbox.flush();
  const settled = await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, 200, 'still waiting'))]);
  expect((settled as Response).status).toBe(201);
  expect(await outbox.list()).toEqual([]);
  outbox.close();
});
