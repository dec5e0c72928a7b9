/**
 * The service worker's pass finds a held request past its retention: it is never sent, and
 * the give-up is kept (without the body) until a page reports it, once. Before, the worker
 * deleted it and told only the pages open at that moment: with none open, nobody heard.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox, type Outbox, type OutboxEvent } from '../../src/outbox/index.js';
import { outboxStore } from '../../src/outbox/lib/outbox-store.js';
import { replayOutbox } from '../../src/sw/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let counter = 0;
let server: TestServer;
let databaseName: string;
const outboxes: Outbox[] = [];

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
  databaseName = `sw-expiry-${++counter}`;
});
afterEach(async () => {
  for (const outbox of outboxes.splice(0)) outbox.close();
  vi.unstubAllGlobals();
  await server.close();
});

/** A page's outbox; its clock runs `lag` ms behind the real one, so what it holds is already past retention for the worker. */
function page(events: OutboxEvent[], lag = 0): Outbox {
  const outbox = createOutbox({ databaseName, locks: null, retention: 1_000, online: () => false, now: () => Date.now() - lag, onEvent: (event) => events.push(event) });
  outboxes.push(outbox);
  return outbox;
}

async function holdExpired(events: OutboxEvent[]): Promise<{ outbox: Outbox; answer: Promise<Response> }> {
  const outbox = page(events, 60_000);
  const { answer } = await outbox.hold({
    method: 'POST',
    url: `${server.url}/orders`,
    headers: [['idempotency-key', 'k-expired']],
    body: '{"sku":"A-1"}',
    keyHeader: 'Idempotency-Key',
    key: 'k-expired',
    fingerprint: 'fp-expired',
  });
  return { outbox, answer };
}

it('with no page open, the worker records the give-up unsent; the next page reports it once and it is gone', async () => {
  const first: OutboxEvent[] = [];
  const { outbox } = await holdExpired(first);
  outbox.close();

  await replayOutbox({ databaseName });
  expect(server.seen).toEqual([]);
  const kept = await outboxStore(databaseName).all();
  expect(kept).toMatchObject([{ id: 'k-expired', state: 'expired', body: null, headers: [] }]);

  const next: OutboxEvent[] = [];
  page(next);
  await vi.waitFor(() => expect(next).toMatchObject([{ type: 'given-up', reason: 'expired', item: { id: 'k-expired' } }]));
  expect(await outboxStore(databaseName).all()).toEqual([]);
  // A later page has nothing left to report.
  const later: OutboxEvent[] = [];
  page(later);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(later).toEqual([]);
});

it('with the holding page open, it hears the give-up once and its submission rejects', async () => {
  const events: OutboxEvent[] = [];
  const { answer } = await holdExpired(events);
  await replayOutbox({ databaseName });
  await expect(answer).rejects.toMatchObject({ name: 'OutboxGaveUpError', reason: 'expired' });
  await vi.waitFor(async () => expect(await outboxStore(databaseName).all()).toEqual([]));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(events.filter((event) => event.type === 'given-up')).toHaveLength(1);
  expect(server.seen).toEqual([]);
});
