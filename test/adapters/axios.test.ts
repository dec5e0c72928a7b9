import axios, { AxiosError, type AxiosInstance } from 'axios';
import axiosRetry from 'axios-retry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { KeyReusedError, OutcomeUnknownError } from '../../src/core/errors.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
let api: AxiosInstance;

beforeEach(async () => {
  server = await startTestServer();
  api = axios.create({ baseURL: server.url });
});
afterEach(() => server.close());

const engine = (attempts = 3) => ({ store: memoryStore(), locks: null, retry: { attempts, baseDelay: 1, maxDelay: 5 } });

describe('installIdempotency', () => {
  it('keys POSTs, shares concurrent identical ones, and leaves GETs alone', async () => {
    installIdempotency(api, engine());
    server.fallback = { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":3}', delayMs: 40 };
    const [a, b] = await Promise.all([api.post('/orders', { sku: 'A', qty: 1 }), api.post('/orders', { qty: 1, sku: 'A' })]);
    expect(a.data).toEqual({ id: 3 });
    expect(b.data).toEqual({ id: 3 });
    await api.get('/orders');
    expect(server.seen.map((r) => [r.method, Boolean(r.key)])).toEqual([
      ['POST', true],
      ['GET', false],
    ]);
  });

  it('retries 503 then 201 with the same key', async () => {
    installIdempotency(api, engine());
    server.replies = [{ status: 503 }, { status: 201, body: 'ok' }];
    const response = await api.post('/orders', { a: 1 });
    expect(response.status).toBe(201);
    expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
  });

  it('rejects a final 400 with the AxiosError axios users expect, without retrying', async () => {
    installIdempotency(api, engine());
    server.replies = [{ status: 400, body: 'bad' }];
    const error = await api.post('/orders', { a: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.status).toBe(400);
    expect(server.seen).toHaveLength(1);
  });

  it('hands back the AxiosError after retries of network errors, with the key on its config', async () => {
    installIdempotency(api, engine(2));
    server.replies = [{ drop: true }, { drop: true }];
    const error = await api.post('/orders', { a: 1 }).catch((e: unknown) => e);
    expect(axios.isAxiosError(error)).toBe(true);
    expect((error as AxiosError).config?.headers.get('Idempotency-Key')).toBe(server.seen[0]!.key);
  });

  it('with axios-retry beside it, every resend carries the first key', async () => {
    installIdempotency(api, engine(1));
    let retries = 0;
    axiosRetry(api, {
      retries: 3,
      retryCondition: (error) => !error.response || error.response.status >= 500,
      retryDelay: () => 5,
      onRetry: () => {
        retries += 1;
      },
    });
    server.replies = [{ drop: true }, { status: 503 }, { drop: true }, { status: 201 }];
    const response = await api.post('/orders', { sku: 'A' });
    expect(response.status).toBe(201);
    expect(retries).toBe(3);
    expect(server.seen).toHaveLength(4);
    expect(new Set(server.seen.map((r) => r.key)).size).toBe(1);
    expect(server.seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('throws KeyReusedError on the verifier 422', async () => {
    installIdempotency(api, engine());
    server.replies = [
      { status: 422, headers: { 'content-type': 'application/problem+json' }, body: '{"type":"https://submit-once.dev/problems/key-reused"}' },
    ];
    await expect(api.post('/orders', { a: 1 })).rejects.toBeInstanceOf(KeyReusedError);
  });

  it('throws OutcomeUnknownError on the verifier outcome-unknown problem, without retrying; the AxiosError is its cause', async () => {
    installIdempotency(api, engine());
    server.replies = [
      {
        status: 500,
        headers: { 'content-type': 'application/problem+json' },
        body: '{"type":"https://submit-once.dev/problems/outcome-unknown","status":500}',
      },
    ];
    const error = await api.post('/orders', { a: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(error).toMatchObject({ code: 'outcome-unknown', status: 500, key: server.seen[0]!.key });
    expect(axios.isAxiosError((error as OutcomeUnknownError).cause)).toBe(true);
    expect(server.seen).toHaveLength(1);
  });

  it('after outcome-unknown the key is retired: the next submission of the intent has a new key', async () => {
    installIdempotency(api, { ...engine(), settleWindow: 0 });
    server.replies = [
      { status: 500, headers: { 'content-type': 'application/problem+json' }, body: '{"type":"https://submit-once.dev/problems/outcome-unknown"}' },
    ];
    await expect(api.post('/orders', { a: 1 })).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect((await api.post('/orders', { a: 1 })).status).toBe(201);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.key).not.toBe(server.seen[0]!.key);
  });

  it('honours per-request options and uninstalls cleanly', async () => {
    const uninstall = installIdempotency(api, engine());
    await api.post('/a', {}, { idempotency: { key: 'explicit-1' } });
    await api.post('/b', {}, { idempotency: false });
    uninstall();
    await api.post('/c', {});
    expect(server.seen.map((r) => r.key)).toEqual(['explicit-1', undefined, undefined]);
  });

  describe('the intent is the URL axios sends', () => {
    // The key the engine holds for the URL the server saw (and the body it got): found only
    // if the fingerprint was taken over that very URL, by axios's own rules.
    async function keyForWhatWasSent(submitter: ReturnType<typeof createSubmitter>) {
      const [sent] = server.seen;
      return submitter.peek({ method: 'POST', url: `${server.url}${sent!.path}`, body: sent!.body });
    }

    it('baseURL and params from the instance and the request, in the order axios writes them', async () => {
      const submitter = createSubmitter(engine());
      const instance = axios.create({ baseURL: `${server.url}/api/`, params: { shop: 'lyon' } });
      installIdempotency(instance, { submitter });
      await instance.post('orders', { sku: 'A' }, { params: { b: 2, a: 1 } });
      expect(server.seen[0]!.path).toBe('/api/orders?shop=lyon&b=2&a=1');
      expect(await keyForWhatWasSent(submitter)).toBe(server.seen[0]!.key);
    });

    it('a custom paramsSerializer', async () => {
      const submitter = createSubmitter(engine());
      installIdempotency(api, { submitter });
      await api.post('/orders', { sku: 'A' }, { params: { list: [1, 2] }, paramsSerializer: (params) => `v=${(params.list as number[]).join('.')}` });
      expect(server.seen[0]!.path).toBe('/orders?v=1.2');
      expect(await keyForWhatWasSent(submitter)).toBe(server.seen[0]!.key);
    });

    it('no baseURL or params: an absolute URL, or a path, as it is; with params, by axios', async () => {
      const instance = axios.create();
      for (const params of [undefined, { b: 2, a: 1 }]) {
        const submitter = createSubmitter(engine());
        installIdempotency(instance, { submitter });
        server.seen.length = 0;
        await instance.post(`${server.url}/Orders`, { sku: 'A' }, { params });
        expect(await keyForWhatWasSent(submitter)).toBe(server.seen[0]!.key);
      }
      // A path goes where the page is (here, with no page, where axios would resolve it).
      const sent: string[] = [];
      const paths = axios.create({ adapter: async (config) => (sent.push(config.headers.get('Idempotency-Key') as string), { data: '', status: 201, statusText: '', headers: {}, config }) });
      const submitter = createSubmitter(engine());
      installIdempotency(paths, { submitter });
      await paths.post('/Orders', { sku: 'B' });
      expect(await submitter.peek({ method: 'POST', url: paths.getUri({ url: '/Orders' }), body: { sku: 'B' } })).toBe(sent[0]);
    });

    it('allowAbsoluteUrls: false puts even an absolute URL under baseURL', async () => {
      const submitter = createSubmitter(engine());
      const instance = axios.create({ baseURL: `${server.url}/api`, allowAbsoluteUrls: false });
      installIdempotency(instance, { submitter });
      await instance.post('http://elsewhere.test/orders', { sku: 'A' });
      expect(server.seen[0]!.path).toBe('/api/http://elsewhere.test/orders');
      expect(await keyForWhatWasSent(submitter)).toBe(server.seen[0]!.key);
    });
  });

  it('an attempt timeout aborts the axios request and retries it with the same key', async () => {
    installIdempotency(api, { ...engine(2), timeout: 100 });
    server.replies = [{ status: 201, body: 'late', delayMs: 1000 }, { status: 201, body: 'ok' }];
    const response = await api.post('/orders', { a: 1 });
    expect(response.data).toBe('ok');
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
  });

  it('attempts that all time out reject with an ECONNABORTED AxiosError, as axios timeouts do, not a CanceledError', async () => {
    // Apps drop cancels silently (`if (axios.isCancel(e)) return`): a timeout must not look like one.
    installIdempotency(api, { ...engine(2), timeout: 50 });
    server.fallback = { status: 201, body: 'late', delayMs: 1000 };
    const error = await api.post('/orders', { a: 1 }).catch((e: unknown) => e);
    expect(axios.isCancel(error)).toBe(false);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe(AxiosError.ECONNABORTED);
    expect((error as AxiosError).config?.headers.get('Idempotency-Key')).toBe(server.seen[0]!.key);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.key).toBe(server.seen[0]!.key);
  });

  it("the caller's signal aborts the axios request in flight, with axios's CanceledError", async () => {
    installIdempotency(api, engine());
    server.replies = [{ status: 201, body: 'late', delayMs: 3000 }];
    const controller = new AbortController();
    const pending = api.post('/orders', { a: 1 }, { signal: controller.signal }).catch((e: unknown) => e);
    while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const abortedAt = Date.now();
    controller.abort();
    expect(axios.isCancel(await pending)).toBe(true);
    // Settled by the abort, not by the answer three seconds later (axios cancels that too).
    expect(Date.now() - abortedAt).toBeLessThan(2500);
  });

  it("a GenericAbortSignal (a polyfill's, another realm's) aborts the request in flight as with plain axios", async () => {
    // axios types `signal` as GenericAbortSignal and its adapters honour any one with
    // addEventListener; the installed adapter followed only `instanceof AbortSignal`.
    installIdempotency(api, engine());
    server.replies = [{ status: 201, body: 'late', delayMs: 3000 }];
    const target = new EventTarget();
    const signal = Object.assign(target, { aborted: false });
    const pending = api.post('/orders', { a: 1 }, { signal }).catch((e: unknown) => e);
    while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const abortedAt = Date.now();
    signal.aborted = true;
    target.dispatchEvent(new Event('abort'));
    expect(axios.isCancel(await pending)).toBe(true);
    expect(Date.now() - abortedAt).toBeLessThan(2500);
    expect(server.seen).toHaveLength(1);
  });

  describe('a CancelToken (axios before AbortSignal, still supported) ends the submission as its signal does', () => {
    // The engine did not follow it: each attempt after the cancel went to the server again
    // (axios sends the request before its cancelled token rejects it) and the caller's
    // CanceledError waited out every backoff.
    const settled = async (pending: Promise<unknown>, cancelledAt: () => number) => {
      const error = await pending;
      const waited = Date.now() - cancelledAt();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { error, waited };
    };

    it('cancelled in flight: CanceledError at once, no request after it', async () => {
      installIdempotency(api, engine());
      server.fallback = { status: 201, body: 'late', delayMs: 3000 };
      const source = axios.CancelToken.source();
      const pending = api.post('/orders', { a: 1 }, { cancelToken: source.token }).catch((e: unknown) => e);
      while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const cancelledAt = Date.now();
      source.cancel('user left');
      const { error, waited } = await settled(pending, () => cancelledAt);
      expect(axios.isCancel(error)).toBe(true);
      expect(waited).toBeLessThan(250);
      expect(server.seen).toHaveLength(1);
    });

    it('cancelled during the backoff: CanceledError at once, no second request', async () => {
      installIdempotency(api, { ...engine(), retry: { attempts: 3, baseDelay: 1000, maxDelay: 1000 }, random: () => 0.999 });
      server.replies = [{ status: 503 }];
      const source = axios.CancelToken.source();
      const pending = api.post('/orders', { a: 1 }, { cancelToken: source.token }).catch((e: unknown) => e);
      while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const cancelledAt = Date.now();
      source.cancel('user left');
      const { error, waited } = await settled(pending, () => cancelledAt);
      expect(axios.isCancel(error)).toBe(true);
      expect(waited).toBeLessThan(250);
      expect(server.seen).toHaveLength(1);
    });
  });

  it('installing twice replaces the first engine instead of nesting', async () => {
    // Nested, each engine would retry the other's exhausted retries (3 x 3 = 9 requests)
    // and the first engine would still see every request.
    const firstEvents: string[] = [];
    installIdempotency(api, { ...engine(), onEvent: (event) => firstEvents.push(event.type) });
    installIdempotency(api, engine());
    server.fallback = { status: 503 };
    await expect(api.post('/orders', { a: 1 })).rejects.toBeInstanceOf(AxiosError);
    expect(server.seen).toHaveLength(3);
    expect(firstEvents).toEqual([]);
  });
});
