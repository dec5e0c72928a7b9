/**
 * A held request keeps its credentials mode: a submission made with `credentials:
 * 'include'` (axios: `withCredentials: true`) to a cookie-authenticated API on another
 * origin is replayed with its cookies, from the page and from the service worker. Before,
 * every replay went `same-origin`: without them, a final 401, and the submission was lost.
 * The mode is read where the replay is sent (the outbox's `fetch`); the cookie itself, in
 * Chromium, by e2e/outbox-credentials.spec.ts.
 */
import axios from 'axios';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOutbox, type Outbox } from '../../src/outbox/index.js';
import { outboxStore } from '../../src/outbox/lib/outbox-store.js';
import { replayOutbox } from '../../src/sw/index.js';
import { heldFor } from '../../src/ui/held-action.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let counter = 0;
let server: TestServer;
let databaseName: string;
let outbox: Outbox | undefined;
let online: boolean;
let modes: RequestCredentials[];

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
  databaseName = `credentials-mode-${++counter}`;
  online = false;
  modes = [];
  outbox = createOutbox({ databaseName, locks: null, backgroundSync: false, online: () => online, fetch: replayFetch });
});
afterEach(async () => {
  outbox?.close();
  vi.unstubAllGlobals();
  await server.close();
});

function replayFetch(request: Request): Promise<Response> {
  modes.push(request.credentials);
  return fetch(request);
}

const engine = () => ({ store: memoryStore(), locks: null, outbox: outbox!, queue: true });

async function replayOnline(): Promise<void> {
  await vi.waitFor(async () => expect(await outbox!.list()).toHaveLength(1));
  online = true;
  await outbox!.flush();
}

it("fetch: a submission made with credentials: 'include' is replayed with credentials: 'include'", async () => {
  const api = createIdempotentFetch(engine());
  const pending = api(`${server.url}/orders`, { method: 'POST', credentials: 'include', body: '{"sku":"A-1"}' });
  await replayOnline();
  expect((await pending).status).toBe(201);
  expect(modes).toEqual(['include']);
});

it("fetch: a Request made with credentials: 'include' is replayed with it", async () => {
  const api = createIdempotentFetch(engine());
  const pending = api(new Request(`${server.url}/orders`, { method: 'POST', credentials: 'include', body: '{"sku":"A-1"}' }));
  await replayOnline();
  expect((await pending).status).toBe(201);
  expect(modes).toEqual(['include']);
});

it("fetch: credentials: 'omit' is replayed with it; none given, 'same-origin' (fetch's default)", async () => {
  const api = createIdempotentFetch(engine());
  const omitted = api(`${server.url}/orders`, { method: 'POST', credentials: 'omit', body: '{"sku":"A-1"}' });
  const plain = api(`${server.url}/orders`, { method: 'POST', body: '{"sku":"A-2"}' });
  await vi.waitFor(async () => expect(await outbox!.list()).toHaveLength(2));
  online = true;
  await outbox!.flush();
  expect([(await omitted).status, (await plain).status]).toEqual([201, 201]);
  expect(modes).toEqual(['omit', 'same-origin']);
});

it("axios: withCredentials: true is replayed with credentials: 'include'; without it, 'same-origin'", async () => {
  const api = axios.create({ baseURL: server.url });
  installIdempotency(api, engine());
  const withCookies = api.post('/orders', { sku: 'A-1' }, { withCredentials: true });
  const without = api.post('/orders', { sku: 'A-2' });
  await vi.waitFor(async () => expect(await outbox!.list()).toHaveLength(2));
  online = true;
  await outbox!.flush();
  expect([(await withCookies).status, (await without).status]).toEqual([201, 201]);
  expect(modes).toEqual(['include', 'same-origin']);
});

it("the service worker's replay sends it with the mode it was held with", async () => {
  const api = createIdempotentFetch(engine());
  void api(`${server.url}/orders`, { method: 'POST', credentials: 'include', body: '{"sku":"A-1"}' }).catch(() => undefined);
  await vi.waitFor(async () => expect(await outbox!.list()).toHaveLength(1));
  outbox!.close();
  await replayOutbox({ databaseName, fetch: replayFetch });
  expect(modes).toEqual(['include']);
  expect(server.seen).toHaveLength(1);
});

it("an item stored by an older SDK (no credentials) is replayed as before: 'same-origin'", async () => {
  const api = createIdempotentFetch(engine());
  const pending = api(`${server.url}/orders`, { method: 'POST', credentials: 'include', body: '{"sku":"A-1"}' });
  await vi.waitFor(async () => expect(await outbox!.list()).toHaveLength(1));
  const [item] = await outboxStore(databaseName).all();
  await outboxStore(databaseName).update(item!.id, (current) => {
    const { credentials: _dropped, ...older } = current as typeof current & { credentials?: unknown };
    return older;
  });
  online = true;
  await outbox!.flush();
  expect((await pending).status).toBe(201);
  expect(modes).toEqual(['same-origin']);
});

it('a credentials mode that is none of fetch\'s is refused when held: InvalidRequestError, nothing kept', async () => {
  const error = await outbox!
    .hold({ method: 'POST', url: `${server.url}/orders`, headers: [], body: 'x', keyHeader: 'Idempotency-Key', key: 'k-bad', fingerprint: 'fp', credentials: 'cookies' as RequestCredentials })
    .then(() => undefined, (caught: unknown) => caught);
  expect(isSubmitOnceError(error, 'invalid-request')).toBe(true);
  expect(await outbox!.list()).toEqual([]);
});

it("the hook's and the guards' held request: its credentials mode is replayed", async () => {
  const held = heldFor({ request: (sku: string) => ({ method: 'POST', url: `${server.url}/orders`, body: sku, credentials: 'include' }), receive: (answer) => answer.status }, 'A-1', () => undefined);
  const { answer } = await outbox!.hold({ ...held.request('k-hook'), key: 'k-hook', fingerprint: 'fp-hook' });
  online = true;
  await outbox!.flush();
  expect((await answer).status).toBe(201);
  expect(modes).toEqual(['include']);
});
