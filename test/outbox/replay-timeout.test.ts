/**
 * A replay that never ends (a server that takes the request and never answers, a
 * `beforeReplay` waiting on a token refresh that never comes) held the pass, and with it the
 * origin's Web Lock, for ever: the page's later passes queue behind it, so no held request
 * was sent again for the page's life, nor from another tab or the service worker. Each
 * replay now has a bound (`timeout`, default 60 s): past it, it is aborted and counts as
 * failed (kept, replayed later with the same key).
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox, type Outbox, type OutboxEvent } from '../../src/outbox/index.js';
import type { OutboxOptions } from '../../src/outbox/options.js';
import { replayOutbox } from '../../src/sw/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let counter = 0;
let server: TestServer;
let outboxes: Outbox[] = [];

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
});
afterEach(async () => {
  for (const outbox of outboxes) outbox.close();
  outboxes = [];
  vi.unstubAllGlobals();
  await server.close();
});

const held = (key: string) => ({ method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', key]] as [string, string][], body: 'x', keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });
const within = <T>(promise: Promise<T>, ms = 1000) => Promise.race([promise, new Promise<'still waiting'>((resolve) => setTimeout(resolve, ms, 'still waiting'))]);

async function heldOffline(options: OutboxOptions): Promise<{ outbox: Outbox; events: OutboxEvent[]; go: () => void; answer: Promise<Response> }> {
  let online = false;
  const events: OutboxEvent[] = [];
  const outbox = createOutbox({ databaseName: `timeout-${++counter}`, locks: null, backgroundSync: false, online: () => online, onEvent: (event) => events.push(event), ...options });
  outboxes.push(outbox);
  const { answer } = await outbox.hold(held('k-t'));
  void answer.catch(() => undefined);
  return { outbox, events, answer, go: () => (online = true) };
}

it('a server that never answers: the replay is aborted at `timeout`, the request kept, and the next pass is not stuck behind it', async () => {
  server.fallback = { status: 201, delayMs: 60_000 };
  const { outbox, events, go, answer } = await heldOffline({ timeout: 100 });
  go();
  expect(await within(outbox.flush())).toBeUndefined();
  expect(events.map((event) => event.type)).toEqual(['queued', 'deferred']);
  expect((await outbox.list()).map((item) => item.id)).toEqual(['k-t']);
  server.fallback = { status: 201, body: 'placed' };
  expect(await within(outbox.flush())).toBeUndefined();
  expect(await (await answer).text()).toBe('placed');
  expect(server.seen.map((request) => request.key)).toEqual(['k-t', 'k-t']);
});

it('a fetch or beforeReplay that ignores the abort: the pass still ends at `timeout`', async () => {
  const hung = await heldOffline({ timeout: 100, fetch: () => new Promise<Response>(() => undefined) });
  hung.go();
  expect(await within(hung.outbox.flush())).toBeUndefined();
  expect(hung.events.map((event) => event.type)).toEqual(['queued', 'deferred']);

  const refresh = await heldOffline({ timeout: 100, beforeReplay: () => new Promise<Request>(() => undefined) });
  refresh.go();
  expect(await within(refresh.outbox.flush())).toBeUndefined();
  expect(refresh.events.map((event) => event.type)).toEqual(['queued', 'deferred']);
});

it("the service worker's pass too: it rejects with OutboxStillWaitingError instead of hanging", async () => {
  const { outbox } = await heldOffline({});
  outbox.close();
  const databaseName = `timeout-${counter}`;
  const pass = replayOutbox({ databaseName, timeout: 100, fetch: () => new Promise<Response>(() => undefined) }).then(() => 'resolved', (error: unknown) => error);
  expect(await within(pass)).toMatchObject({ code: 'outbox-still-waiting', ids: ['k-t'] });
});

it('timeout must be a number > 0', () => {
  expect(() => createOutbox({ timeout: 0 })).toThrow(/timeout/);
});
