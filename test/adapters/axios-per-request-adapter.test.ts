/**
 * A request that names its own adapter (`{ adapter: 'fetch' }`, common since axios 1.7, an
 * adapter list, or a mock function) replaces the instance's wrapped default: without a guard
 * of its own it went out with no key, no retries and no sharing. Counted at the origin.
 */
import axios, { type AxiosAdapter, type AxiosInstance } from 'axios';
import axiosRetry from 'axios-retry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
let api: AxiosInstance;
beforeEach(async () => {
  server = await startTestServer();
  api = axios.create({ baseURL: server.url });
});
afterEach(() => server.close());

const engine = (attempts = 3) => ({ store: memoryStore(), locks: null, retry: { attempts, baseDelay: 1, maxDelay: 5 } });

/** An adapter function that records the config it was called with, then sends it over http. */
function recording(): AxiosAdapter & { seen: AxiosAdapter[] } {
  const seen: AxiosAdapter[] = [];
  const adapter = Object.assign(
    (config: Parameters<AxiosAdapter>[0]) => {
      seen.push(config.adapter as AxiosAdapter);
      return axios.getAdapter('http', config)(config);
    },
    { seen },
  );
  return adapter;
}

describe('a per-request adapter is guarded as the default one', () => {
  it('a POST naming its own adapter still carries a key', async () => {
    installIdempotency(api, { store: memoryStore(), locks: null });
    await api.post('/orders', { a: 1 }, { adapter: 'fetch' });
    await api.post('/orders', { a: 2 }, { adapter: 'http' });
    expect(server.seen.map((r) => typeof r.key)).toEqual(['string', 'string']); // got [undefined, undefined]
  });

  it('an adapter list and a custom function: keyed, and the function still sends', async () => {
    installIdempotency(api, engine());
    const own = recording();
    await api.post('/orders', { a: 1 }, { adapter: ['fetch', 'xhr'] });
    await api.post('/orders', { a: 2 }, { adapter: own });
    expect(server.seen.map((r) => typeof r.key)).toEqual(['string', 'string']);
    expect(own.seen).toHaveLength(1);
  });

  it('a retry through a per-request adapter reuses the key', async () => {
    installIdempotency(api, engine());
    server.replies = [{ status: 503 }, { drop: true }, { status: 201, body: 'ok' }];
    const response = await api.post('/orders', { a: 1 }, { adapter: 'fetch' });
    expect(response.status).toBe(201);
    expect(server.seen).toHaveLength(3);
    expect(new Set(server.seen.map((r) => r.key)).size).toBe(1);
    expect(server.seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('concurrent identical POSTs through a per-request adapter reach the origin once', async () => {
    installIdempotency(api, engine());
    server.fallback = { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":3}', delayMs: 40 };
    const [a, b] = await Promise.all([api.post('/orders', { sku: 'A' }, { adapter: 'fetch' }), api.post('/orders', { sku: 'A' }, { adapter: 'fetch' })]);
    expect([a.data, b.data]).toEqual([{ id: 3 }, { id: 3 }]);
    expect(server.seen).toHaveLength(1);
  });

  it('axios-retry resends through the per-request adapter with the first key, wrapped once', async () => {
    installIdempotency(api, engine(1));
    axiosRetry(api, { retries: 2, retryCondition: (error) => !error.response || error.response.status >= 500, retryDelay: () => 5 });
    server.replies = [{ status: 503 }, { drop: true }, { status: 201 }];
    const response = await api.post('/orders', { sku: 'A' }, { adapter: 'fetch' });
    expect(response.status).toBe(201);
    expect(server.seen).toHaveLength(3);
    expect(new Set(server.seen.map((r) => r.key)).size).toBe(1);
    expect(server.seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('idempotency: false and unguarded methods leave the per-request adapter untouched', async () => {
    installIdempotency(api, engine());
    const own = recording();
    server.fallback = { status: 503 };
    await expect(api.post('/orders', { a: 1 }, { adapter: own, idempotency: false })).rejects.toThrow();
    await expect(api.get('/orders', { adapter: own })).rejects.toThrow();
    expect(server.seen.map((r) => [r.method, r.key])).toEqual([
      ['POST', undefined],
      ['GET', undefined],
    ]);
    // The function itself was the adapter axios called: not wrapped.
    expect(own.seen).toEqual([own, own]);
  });

  it('installing twice wraps a per-request adapter once', async () => {
    installIdempotency(api, engine());
    installIdempotency(api, engine());
    server.fallback = { status: 503 };
    await expect(api.post('/orders', { a: 1 }, { adapter: 'fetch' })).rejects.toThrow();
    expect(server.seen).toHaveLength(3);
  });

  it('uninstalled, per-request adapters are left alone', async () => {
    const uninstall = installIdempotency(api, engine());
    uninstall();
    const own = recording();
    server.fallback = { status: 503 };
    await expect(api.post('/orders', { a: 1 }, { adapter: 'fetch' })).rejects.toThrow();
    await expect(api.post('/orders', { a: 2 }, { adapter: own })).rejects.toThrow();
    expect(server.seen.map((r) => r.key)).toEqual([undefined, undefined]);
    expect(own.seen).toEqual([own]);
  });

  it('the interceptor is synchronous: axios still calls the adapter in the same turn, with no async hop', async () => {
    const own = recording();
    const instance = axios.create({ baseURL: server.url, adapter: own });
    installIdempotency(instance, engine());
    // Unguarded, the engine hands the config straight to the adapter it wraps; an async
    // interceptor anywhere in the chain would defer this call to a later microtask.
    const sent = instance.post('/orders', { a: 1 }, { idempotency: false });
    expect(own.seen).toHaveLength(1);
    await sent;
  });

  describe("an interceptor's adapter (axios runs request interceptors last-registered-first)", () => {
    it('registered after install: guarded', async () => {
      installIdempotency(api, engine());
      api.interceptors.request.use((config) => ((config.adapter = 'fetch'), config));
      await api.post('/orders', { a: 1 });
      expect(typeof server.seen[0]!.key).toBe('string');
    });

    it('registered before install: runs after the guard, and its adapter is not guarded', async () => {
      api.interceptors.request.use((config) => ((config.adapter = 'fetch'), config));
      installIdempotency(api, engine());
      await api.post('/orders', { a: 1 });
      expect(server.seen[0]!.key).toBeUndefined();
    });
  });

  describe("with axios's `transitional.legacyInterceptorReqResOrdering: false` (registration order)", () => {
    beforeEach(() => {
      api = axios.create({ baseURL: server.url, transitional: { legacyInterceptorReqResOrdering: false } });
    });

    it('registered before install: guarded', async () => {
      api.interceptors.request.use((config) => ((config.adapter = 'fetch'), config));
      installIdempotency(api, engine());
      await api.post('/orders', { a: 1 });
      expect(typeof server.seen[0]!.key).toBe('string');
    });

    it('registered after install: runs after the guard, and its adapter is not guarded', async () => {
      installIdempotency(api, engine());
      api.interceptors.request.use((config) => ((config.adapter = 'fetch'), config));
      await api.post('/orders', { a: 1 });
      expect(server.seen[0]!.key).toBeUndefined();
    });
  });
});
