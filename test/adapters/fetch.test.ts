import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdempotentFetch, type IdempotentFetch } from '../../src/fetch/index.js';
import { memoryStore } from '../../src/core/store.js';
import { AmbiguousOutcomeError, InvalidRequestError, isOutcomeUnknownError, OutcomeUnknownError, UnreplayableBodyError } from '../../src/core/errors.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: TestServer;
let fetchOnce: IdempotentFetch;

beforeEach(async () => {
  server = await startTestServer();
  fetchOnce = createIdempotentFetch({ store: memoryStore(), locks: null, retry: { attempts: 3, baseDelay: 1, maxDelay: 5 } });
});
afterEach(() => server.close());

const post = (body: unknown, init: RequestInit = {}) =>
  fetchOnce(`${server.url}/orders`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...init });

describe('createIdempotentFetch against a real HTTP server', () => {
  it('adds a UUID Idempotency-Key to POST and PATCH, none to GET', async () => {
    await post({ a: 1 });
    await fetchOnce(`${server.url}/orders/1`, { method: 'PATCH', body: '{}' });
    await fetchOnce(`${server.url}/orders`);
    expect(server.seen.map((r) => [r.method, Boolean(r.key)])).toEqual([
      ['POST', true],
      ['PATCH', true],
      ['GET', false],
    ]);
    expect(server.seen[0]!.key).toMatch(UUID_V4);
  });

  it('shares one request between concurrent sends of one intent; each caller can read the body', async () => {
    server.fallback = { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":1}', delayMs: 50 };
    const responses = await Promise.all([post({ a: 1, b: 2 }), post({ b: 2, a: 1 }), post({ a: 1, b: 2 })]);
    expect(server.seen).toHaveLength(1);
    for (const response of responses) expect(await response.json()).toEqual({ id: 1 });
  });

  it('retries 503 then 201 with the same key and returns the 201', async () => {
    server.replies = [{ status: 503 }, { status: 201, body: 'created' }];
    const response = await post({ a: 1 });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('created');
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
  });

  it('retries a dropped connection with the same key, and keeps it when every attempt fails', async () => {
    server.replies = [{ drop: true }, { drop: true }, { drop: true }];
    await expect(post({ a: 1 })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    const response = await post({ a: 1 });
    expect(response.status).toBe(201);
    expect(new Set(server.seen.map((r) => r.key)).size).toBe(1);
    expect(server.seen).toHaveLength(4);
  });

  it('does not retry final statuses', async () => {
    for (const status of [400, 404, 422]) {
      server.replies = [{ status }];
      const before = server.seen.length;
      expect((await post({ status })).status).toBe(status);
      expect(server.seen.length - before).toBe(1);
    }
  });

  it('keeps a key the caller already set, in either format', async () => {
    await post({ a: 1 }, { headers: { 'Idempotency-Key': 'caller-key-1' } });
    await post({ a: 2 }, { headers: { 'Idempotency-Key': '"caller-key-2"' } });
    expect(server.seen.map((r) => r.key)).toEqual(['caller-key-1', 'caller-key-2']);
  });

  it('supports the structured-field format and a custom header name', async () => {
    const custom = createIdempotentFetch({ store: memoryStore(), locks: null, header: 'X-Request-Key', keyFormat: 'sf-string' });
    const headerServer = await startTestServer('x-request-key');
    try {
      await custom(`${headerServer.url}/x`, { method: 'POST', body: 'a' });
      expect(headerServer.seen[0]!.key).toMatch(/^"[0-9a-f-]{36}"$/);
    } finally {
      await headerServer.close();
    }
  });

  it('accepts a Request object and sends its body on every attempt', async () => {
    server.replies = [{ status: 503 }, { status: 201 }];
    const request = new Request(`${server.url}/orders`, { method: 'POST', body: 'payload-bytes' });
    const response = await fetchOnce(request);
    expect(response.status).toBe(201);
    expect(server.seen.map((r) => r.body)).toEqual(['payload-bytes', 'payload-bytes']);
    expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
  });

  it("a Request with init.headers sends init's headers only, as fetch does", async () => {
    const request = new Request(`${server.url}/orders`, { method: 'POST', body: 'payload', headers: { authorization: 'Bearer old', 'x-a': '1' } });
    const sent: Headers[] = [];
    const recording = createIdempotentFetch({
      store: memoryStore(),
      locks: null,
      fetch: async (input, init) => {
        sent.push(new Request(input, init).headers);
        return new Response(null, { status: 201 });
      },
    });
    await recording(request, { headers: { 'x-b': '2' } });
    const plain = new Request(request.clone(), { headers: { 'x-b': '2' } });
    expect([...plain.headers]).toEqual([['x-b', '2']]);
    expect([...sent[0]!].filter(([name]) => name !== 'idempotency-key')).toEqual([...plain.headers]);
    expect(sent[0]!.get('idempotency-key')).toMatch(UUID_V4);
  });

  it('a Request whose body was already read is refused with InvalidRequestError, nothing sent', async () => {
    const request = new Request(`${server.url}/orders`, { method: 'POST', body: 'payload' });
    await request.text();
    await expect(fetchOnce(request)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.seen).toHaveLength(0);
  });

  it('a Request whose body was already read, given a body in init, is sent with that body, as fetch does', async () => {
    server.replies = [{ status: 503 }, { status: 201 }];
    const request = new Request(`${server.url}/orders`, { method: 'POST', body: 'read' });
    await request.text();
    const response = await fetchOnce(request, { body: 'payload' });
    expect(response.status).toBe(201);
    expect(server.seen.map((r) => r.body)).toEqual(['payload', 'payload']);
    expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
  });

  it('refuses a stream body with a typed error before anything is sent', async () => {
    const body = new ReadableStream({ start: (c) => c.close() });
    await expect(fetchOnce(`${server.url}/x`, { method: 'POST', body, duplex: 'half' } as RequestInit)).rejects.toBeInstanceOf(UnreplayableBodyError);
    expect(server.seen).toHaveLength(0);
  });

  it('passes idempotency: false and other methods straight through', async () => {
    await fetchOnce(`${server.url}/x`, { method: 'POST', body: 'a', idempotency: false });
    await fetchOnce(`${server.url}/x`, { method: 'PUT', body: 'a' });
    expect(server.seen.map((r) => r.key)).toEqual([undefined, undefined]);
  });

  describe('the verifier cannot know the outcome (outcome-unknown)', () => {
    const outcomeUnknown = {
      status: 500,
      headers: { 'content-type': 'application/problem+json' },
      body: '{"type":"https://submit-once.dev/problems/outcome-unknown","status":500}',
    };

    it('rejects with OutcomeUnknownError at once, without retrying the 500', async () => {
      server.replies = [outcomeUnknown];
      const error = await post({ a: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(isOutcomeUnknownError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'outcome-unknown', status: 500, key: server.seen[0]!.key });
      expect(server.seen).toHaveLength(1);
    });

    it('answers a double-click with the same error, sending nothing more', async () => {
      server.replies = [outcomeUnknown];
      const first = await post({ a: 1 }).catch((e: unknown) => e);
      const second = await post({ a: 1 }).catch((e: unknown) => e);
      expect(second).toBe(first);
      expect(server.seen).toHaveLength(1);
    });

    it('retires the key: after the settle window the same intent is a new one, with a new key', async () => {
      const fresh = createIdempotentFetch({ store: memoryStore(), locks: null, settleWindow: 0 });
      server.replies = [outcomeUnknown];
      const send = () => fresh(`${server.url}/orders`, { method: 'POST', body: '{"a":1}' });
      await expect(send()).rejects.toBeInstanceOf(OutcomeUnknownError);
      const response = await send();
      expect(response.status).toBe(201);
      expect(server.seen).toHaveLength(2);
      expect(server.seen[1]!.key).not.toBe(server.seen[0]!.key);
    });

    it('a plain 500 (no problem type) is still ambiguous and retried with the same key (control)', async () => {
      server.replies = [{ status: 500, body: 'oops' }];
      const response = await post({ a: 1 });
      expect(response.status).toBe(201);
      expect(server.seen).toHaveLength(2);
      expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
    });
  });

  it('sends no signal where nothing can abort the attempt; the caller\'s, or one that its timeout aborts, otherwise', async () => {
    const signals: Array<AbortSignal | null | undefined> = [];
    const spy = (input: Request | string | URL, init?: RequestInit) => (signals.push(init?.signal), fetch(input, init));
    const options = { store: memoryStore(), locks: null, fetch: spy } as const;
    const body = (sku: string) => ({ method: 'POST', body: JSON.stringify({ sku }) });
    await createIdempotentFetch(options)(`${server.url}/orders`, body('bare'));
    const caller = new AbortController();
    await createIdempotentFetch(options)(`${server.url}/orders`, { ...body('caller'), signal: caller.signal });
    const timed = createIdempotentFetch({ ...options, timeout: 50, retry: false });
    server.fallback = { status: 201, delayMs: 300 };
    await expect(timed(`${server.url}/orders`, body('timed'))).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    expect(signals[0]).toBeUndefined();
    expect(signals[1]).toBe(caller.signal);
    expect(signals[2]?.aborted).toBe(true);
  });
});
