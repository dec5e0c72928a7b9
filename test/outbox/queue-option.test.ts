/**
 * `queue: true` in the engine and the adapters: what they hand the outbox (the key, the
 * request), when (offline before any attempt; after an ambiguous end), and what the caller
 * gets (the replay's answer, or the outbox's typed error with the key kept).
 */
import axios, { AxiosError } from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { InvalidOptionsError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/core/store.js';
import { createSubmitter } from '../../src/core/submitter.js';
import type { SubmitEvent } from '../../src/core/events.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { OutboxFullError } from '../../src/outbox/index.js';
import { SubmissionObserver } from '../../src/ui/submission-observer.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { fakeOutbox, heldCount, type FakeOutbox } from './fake-outbox.js';

let server: TestServer;
let outbox: FakeOutbox;
let events: SubmitEvent[];

beforeEach(async () => {
  server = await startTestServer();
  outbox = fakeOutbox();
  events = [];
});
afterEach(() => server.close());

const engine = () => ({ store: memoryStore(), locks: null, retry: { attempts: 2, baseDelay: 1, maxDelay: 2 }, outbox, onEvent: (e: SubmitEvent) => events.push(e) });

describe('queue: true with fetch', () => {
  it('offline: nothing is sent; the request is held with its key, and the replay answer is the response', async () => {
    outbox.offlineNow = true;
    const api = createIdempotentFetch({ ...engine(), queue: true });
    const pending = api(`${server.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"a":1}' });
    await heldCount(outbox, 1);
    const [held] = outbox.held;
    expect(server.seen).toEqual([]);
    expect(held).toMatchObject({ method: 'POST', url: `${server.url}/orders`, body: '{"a":1}', keyHeader: 'Idempotency-Key' });
    expect(new Headers([...held!.headers]).get('idempotency-key')).toBe(held!.key);
    outbox.answer(new Response('{"id":7}', { status: 201 }));
    const response = await pending;
    expect([response.status, await response.json()]).toEqual([201, { id: 7 }]);
    expect(events.map((e) => e.type)).toEqual(['key-created', 'queued', 'settled']);
  });

  it('online, every attempt dropped: held after the retries with the key the attempts carried', async () => {
    server.fallback = { drop: true };
    const api = createIdempotentFetch({ ...engine(), queue: true });
    const pending = api(`${server.url}/orders`, { method: 'POST', body: 'x' });
    await heldCount(outbox, 1);
    expect(server.seen.map((r) => r.key)).toEqual([outbox.held[0]!.key, outbox.held[0]!.key]);
    outbox.answer(new Response('done', { status: 201 }));
    expect((await pending).status).toBe(201);
  });

  it('a 503 after the retries is held too (the answer is not final)', async () => {
    server.fallback = { status: 503 };
    const api = createIdempotentFetch(engine());
    const pending = api(`${server.url}/orders`, { method: 'POST', body: 'x', idempotency: { queue: true } });
    await heldCount(outbox, 1);
    outbox.answer(new Response('ok', { status: 201 }));
    expect((await pending).status).toBe(201);
  });

  it('without queue, nothing is held (opt-in)', async () => {
    server.fallback = { drop: true };
    const api = createIdempotentFetch(engine());
    await expect(api(`${server.url}/orders`, { method: 'POST', body: 'x' })).rejects.toMatchObject({ code: 'ambiguous-outcome' });
    expect(outbox.held).toEqual([]);
  });

  it('an outbox that cannot keep it: its typed error reaches the caller, and the key is kept for the next try', async () => {
    outbox.offlineNow = true;
    outbox.failNext(new OutboxFullError('items'));
    const api = createIdempotentFetch({ ...engine(), queue: true });
    const post = () => api(`${server.url}/orders`, { method: 'POST', body: 'same' });
    await expect(post()).rejects.toBeInstanceOf(OutboxFullError);
    const firstKey = events.find((e) => e.type === 'key-created')!;
    outbox.offlineNow = false;
    expect((await post()).status).toBe(201);
    expect(server.seen.map((r) => r.key)).toEqual(['key' in firstKey ? firstKey.key : '']);
  });

  it('queue without an outbox is refused', async () => {
    expect(() => createSubmitter({ queue: true })).toThrow(InvalidOptionsError);
    const submitter = createSubmitter({ store: memoryStore(), locks: null });
    await expect(submitter.submit({ intent: { method: 'POST', url: '/x' }, send: async () => 1, queue: true })).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});

describe('queue: true with axios', () => {
  it('offline: held with the key; the replay answer comes back as an axios response, parsed', async () => {
    outbox.offlineNow = true;
    const api = axios.create({ baseURL: server.url });
    installIdempotency(api, { ...engine(), queue: true });
    const pending = api.post('/orders', { sku: 'A' });
    await heldCount(outbox, 1);
    expect(server.seen).toEqual([]);
    expect(outbox.held[0]).toMatchObject({ url: `${server.url}/orders`, body: '{"sku":"A"}' });
    expect(new Headers([...outbox.held[0]!.headers]).get('idempotency-key')).toBe(outbox.held[0]!.key);
    outbox.answer(new Response('{"id":9}', { status: 201, headers: { 'content-type': 'application/json' } }));
    const response = await pending;
    expect([response.status, response.data]).toEqual([201, { id: 9 }]);
  });

  it('a refused replay rejects as an AxiosError', async () => {
    outbox.offlineNow = true;
    const api = axios.create({ baseURL: server.url });
    installIdempotency(api, engine());
    const pending = api.post('/orders', { sku: 'B' }, { idempotency: { queue: true } });
    await heldCount(outbox, 1);
    outbox.answer(new Response('{"error":"sold out"}', { status: 400, headers: { 'content-type': 'application/json' } }));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.data).toEqual({ error: 'sold out' });
  });
});

describe('queue: true with the hook and the guards (their observer)', () => {
  it('offline: the action is not called; its described request is held with the key and the answer becomes the data', async () => {
    outbox.offlineNow = true;
    let called = 0;
    const observer = new SubmissionObserver<{ sku: string }, { id: number }>(
      async () => {
        called += 1;
        return { id: 0 };
      },
      {
        ...engine(),
        queue: true,
        intent: 'place-order',
        held: {
          request: (cart) => ({ method: 'POST', url: `${server.url}/orders`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(cart) }),
          receive: async (answer) => (await answer.json()) as { id: number },
        },
      },
    );
    const pending = observer.submit({ sku: 'C' });
    await heldCount(outbox, 1);
    expect(called).toBe(0);
    expect(outbox.held[0]).toMatchObject({ body: '{"sku":"C"}', keyHeader: 'Idempotency-Key' });
    expect(new Headers([...outbox.held[0]!.headers]).get('idempotency-key')).toBe(outbox.held[0]!.key);
    outbox.answer(new Response('{"id":4}', { status: 201 }));
    expect(await pending).toEqual({ id: 4 });
    expect(observer.getState()).toMatchObject({ status: 'success', data: { id: 4 } });
  });
});
