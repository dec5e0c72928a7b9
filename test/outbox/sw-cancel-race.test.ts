/**
 * `outbox.cancel(id)` while the service worker's replay of that request is on the wire:
 * the request still reaches the origin and runs (README: "a replay already on the wire
 * still completes"), so its answer must still reach a page, as a page's own replay's does.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox, type Outbox, type OutboxEvent } from '../../src/outbox/index.js';
import { replayOutbox } from '../../src/sw/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
const outboxes: Outbox[] = [];

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
});
afterEach(async () => {
  for (const outbox of outboxes.splice(0)) outbox.close();
  vi.unstubAllGlobals();
  await server.close();
});

function page(events: OutboxEvent[]): Outbox {
  const outbox = createOutbox({ databaseName: 'sw-cancel', locks: null, online: () => false, onEvent: (event) => events.push(event) });
  outboxes.push(outbox);
  return outbox;
}

it("cancelled while the worker's replay is on the wire: the order ran, and the next page hears its answer", async () => {
  const events: OutboxEvent[] = [];
  const holder = page(events);
  await holder.hold({ method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', 'k-c']], body: 'x', keyHeader: 'Idempotency-Key', key: 'k-c', fingerprint: 'fp-c' });
  holder.close();

  const cancelled: OutboxEvent[] = [];
  const canceller = page(cancelled);
  await replayOutbox({
    databaseName: 'sw-cancel',
    fetch: async (request) => {
      const response = await fetch(request);
      expect(await canceller.cancel('k-c')).toBe(true);
      // Every page gone before the answer is back.
      canceller.close();
      return response;
    },
  });
  expect(server.seen.map((r) => r.key)).toEqual(['k-c']);
  expect(cancelled).toMatchObject([{ type: 'given-up', reason: 'cancelled' }]);

  const next: OutboxEvent[] = [];
  page(next);
  await vi.waitFor(() => expect(next).toMatchObject([{ type: 'replayed', status: 201, item: { id: 'k-c' } }]));
});
