/**
 * A held request keeps fetch's modes that change what the page sees (`redirect`, `mode`,
 * `referrerPolicy`, `cache`, `integrity`), and refuses at once the two whose answer is
 * opaque (`mode: 'no-cors'`, `redirect: 'manual'`): a replay could not hand that back, and
 * sending it otherwise would change it (a redirect followed, a login page taken for the
 * answer). The modes are read where the replay is sent (the outbox's `fetch`); what the
 * browser does with them, in Chromium, by e2e/outbox-request-modes.spec.ts.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOutbox, type Outbox } from '../../src/outbox/index.js';
import { replayOutbox } from '../../src/sw/index.js';
import { heldFor } from '../../src/ui/held-action.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let counter = 0;
let server: TestServer;
let databaseName: string;
let outbox: Outbox;
let online: boolean;
let sent: Request[];

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
  databaseName = `request-modes-${++counter}`;
  online = false;
  sent = [];
  outbox = createOutbox({ databaseName, locks: null, backgroundSync: false, online: () => online, fetch: record });
});
afterEach(async () => {
  outbox.close();
  vi.unstubAllGlobals();
  await server.close();
});

async function record(request: Request): Promise<Response> {
  sent.push(request);
  return new Response('{"id":1}', { status: 201 });
}

const modes = (request: Request) => ({ mode: request.mode, redirect: request.redirect, referrerPolicy: request.referrerPolicy, cache: request.cache, integrity: request.integrity });
const init = { mode: 'same-origin', redirect: 'error', referrerPolicy: 'no-referrer', cache: 'no-store', integrity: 'sha256-abc' } as const;

async function replayOnline(): Promise<void> {
  await vi.waitFor(async () => expect(await outbox.list()).toHaveLength(1));
  online = true;
  await outbox.flush();
}

it("fetch: the page's replay is sent with the submission's redirect, mode, referrerPolicy, cache and integrity", async () => {
  const api = createIdempotentFetch({ store: memoryStore(), locks: null, outbox, queue: true });
  const pending = api(`${server.url}/orders`, { method: 'POST', body: 'x', ...init });
  await replayOnline();
  expect((await pending).status).toBe(201);
  expect(sent.map(modes)).toEqual([init]);
});

it("fetch with a Request: its own modes are kept; init's win over them, as in fetch", async () => {
  const api = createIdempotentFetch({ store: memoryStore(), locks: null, outbox, queue: true });
  const pending = api(new Request(`${server.url}/orders`, { method: 'POST', body: 'x', redirect: 'error', cache: 'no-cache' }), { cache: 'reload' });
  await replayOnline();
  await pending;
  expect(sent.map(modes)).toEqual([{ mode: 'cors', redirect: 'error', referrerPolicy: '', cache: 'reload', integrity: '' }]);
});

it("the service worker's replay is sent with them too", async () => {
  const api = createIdempotentFetch({ store: memoryStore(), locks: null, outbox, queue: true });
  void api(`${server.url}/orders`, { method: 'POST', body: 'x', ...init }).catch(() => undefined);
  await vi.waitFor(async () => expect(await outbox.list()).toHaveLength(1));
  outbox.close();
  await replayOutbox({ databaseName, fetch: record });
  expect(sent.map(modes)).toEqual([init]);
});

it("the hook's and guards' held request: its modes are kept", async () => {
  const held = heldFor({ request: () => ({ method: 'POST', url: `${server.url}/orders`, body: 'x', ...init }), receive: (answer) => answer }, undefined, () => undefined);
  const { answer } = await outbox.hold({ ...held.request('k-h'), key: 'k-h', fingerprint: 'fp-h' });
  online = true;
  await outbox.flush();
  expect((await answer).status).toBe(201);
  expect(sent.map(modes)).toEqual([init]);
});

it.each([{ redirect: 'manual' }, { mode: 'no-cors' }] as const)('%o is refused at once with InvalidRequestError: nothing held, nothing sent, the key kept', async (opaque) => {
  const events: string[] = [];
  const api = createIdempotentFetch({ store: memoryStore(), locks: null, outbox, queue: true, onEvent: (event) => events.push(event.type) });
  const post = () => api(`${server.url}/orders`, { method: 'POST', body: 'x', ...opaque });
  const error = await post().catch((caught: unknown) => caught);
  expect(error).toMatchObject({ name: 'InvalidRequestError', code: 'invalid-request' });
  expect((error as Error).message).toContain(Object.values(opaque)[0]);
  expect(await outbox.list()).toEqual([]);
  online = true;
  await outbox.flush();
  expect([sent, server.seen]).toEqual([[], []]);
  // Online, it is sent as a plain attempt, under the key it was given.
  expect((await post()).status).toBe(201);
  expect(server.seen).toHaveLength(1);
  expect(events.filter((type) => type === 'key-created')).toHaveLength(1);
});
