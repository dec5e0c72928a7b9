import axios from 'axios';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, TOKEN_PATH, type Verifier } from '../../src/server/index.js';
import { serverTokens, TokenUnavailableError } from '../../src/tokens/index.js';

const SECRET = 'client-test-secret-0123456789-abcdefghij';
const api = createOrdersApi();
let verifier: Verifier;
let url: string;
/** Every token request the server answered, and every POST key it saw, in order. */
let log: string[];

beforeAll(async () => {
  verifier = createVerifier({ handler: api, tokens: { secrets: [SECRET], ttl: 60_000 }, principal: false });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());
beforeEach(() => {
  log = [];
  api.reset();
});

/** fetch that logs token requests and keyed POSTs, as the server sees them. */
const loggingFetch: typeof fetch = async (input, init) => {
  const target = String(input instanceof Request ? input.url : input);
  const response = await fetch(input, init);
  if (target.endsWith(TOKEN_PATH)) log.push(`token:${((await response.clone().json()) as { token: string }).token}`);
  else if ((init?.method ?? 'GET') !== 'GET') log.push(`post:${new Headers(init?.headers).get('Idempotency-Key')}`);
  return response;
};

const tokens = (options: Partial<Parameters<typeof serverTokens>[0]> = {}) => serverTokens({ url: `${url}${TOKEN_PATH}`, fetch: loggingFetch, ...options });
/** Waits (polling, no fixed delay) until `count` token requests have been answered. */
const tokensAnswered = (count: number) => vi.waitFor(() => expect(log.filter((entry) => entry.startsWith('token:'))).toHaveLength(count));

describe('tokenProvider: keys from the server', () => {
  it('fetch: sends the token held since creation as the key, and fetches the next ahead', async () => {
    const provider = tokens();
    await tokensAnswered(1);
    const held = log[0]!.slice('token:'.length);
    const post = createIdempotentFetch({ tokenProvider: provider, store: memoryStore(), locks: null, fetch: loggingFetch });
    const response = await post(`${url}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(201);
    // The key sent is the token fetched before the submission; the next was fetched after it.
    await tokensAnswered(2);
    expect(log[0]).toBe(`token:${held}`);
    expect(log).toContain(`post:${held}`);
    expect(api.orders()).toHaveLength(1);
  });

  it('createSubmitter: a retry keeps its token, and the server replays it', async () => {
    const submitter = createSubmitter({ tokenProvider: tokens(), store: memoryStore(), locks: null, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } });
    const keys: string[] = [];
    const status = await submitter.submit({
      intent: { method: 'POST', url: `${url}/orders`, body: { item: 'tea' } },
      send: async ({ key, attempt }) => {
        keys.push(key);
        const response = await fetch(`${url}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'content-type': 'application/json', 'Idempotency-Key': key } });
        // The first answer is lost after the server stored it.
        if (attempt === 1) throw new TypeError('network error');
        return response;
      },
    });
    expect(status.status).toBe(201);
    expect(status.headers.get('idempotent-replayed')).toBe('true');
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).toMatch(/^st2\./);
    expect(api.orders()).toHaveLength(1);
  });

  it('axios: the key is the token, and the server accepts it', async () => {
    const instance = axios.create();
    installIdempotency(instance, { tokenProvider: tokens(), store: memoryStore(), locks: null });
    const response = await instance.post(`${url}/orders`, { item: 'tea' });
    expect(response.status).toBe(201);
    expect(response.config.headers.get('Idempotency-Key')).toMatch(/^st2\./);
    expect(api.orders()).toHaveLength(1);
  });

  it('a token endpoint that fails: TokenUnavailableError, nothing sent; the next try fetches again', async () => {
    let down = true;
    const flaky: typeof fetch = (input, init) => (down ? Promise.reject(new TypeError('offline')) : loggingFetch(input, init));
    const post = createIdempotentFetch({ tokenProvider: tokens({ fetch: flaky }), store: memoryStore(), locks: null });
    const send = () => post(`${url}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'content-type': 'application/json' } });
    const error = await send().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(isSubmitOnceError(error, 'token-unavailable')).toBe(true);
    expect(api.orders()).toHaveLength(0);
    down = false;
    expect((await send()).status).toBe(201);
    expect(api.orders()).toHaveLength(1);
  });

  it("a token endpoint that never answers: the caller's abort settles the submission at once, nothing sent", async () => {
    let sent = 0;
    const idempotentFetch = createIdempotentFetch({
      store: memoryStore(),
      locks: null,
      tokenProvider: () => new Promise<string>(() => {}),
      fetch: async () => {
        sent += 1;
        return new Response(null, { status: 201 });
      },
    });
    const controller = new AbortController();
    const pending = idempotentFetch(`${url}/orders`, { method: 'POST', body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const outcome = await Promise.race([pending.then(() => 'sent', (error: unknown) => error), new Promise((resolve) => setTimeout(() => resolve('still pending'), 1000))]);
    expect(isSubmitOnceError(outcome, 'aborted')).toBe(true);
    expect(sent).toBe(0);
  });

  it('drops a held token near its expiry for a fresh one; an endpoint answer without a token is refused', async () => {
    let clock = Date.now();
    const provider = tokens({ now: () => clock, margin: 1000 });
    await tokensAnswered(1);
    const stale = log[0]!.slice('token:'.length);
    clock += 60_000;
    const taken = await provider();
    expect(taken).not.toBe(stale);
    const broken = serverTokens({ url: `${url}/orders`, eager: false });
    await expect(broken()).rejects.toThrow(TokenUnavailableError);
  });

  it('takes a token only for a new key: not for a second prepare, nor for the click after it', async () => {
    let issued = 0;
    const submitter = createSubmitter({ tokenProvider: async () => `tok-${++issued}`, store: memoryStore(), locks: null });
    const intent = { method: 'POST', url: `${url}/orders`, body: { item: 'tea' } };
    expect(await submitter.prepare(intent)).toBe('tok-1');
    expect(await submitter.prepare(intent)).toBe('tok-1');
    const keys: string[] = [];
    await submitter.submit({ intent, send: async ({ key }) => void keys.push(key) });
    expect(keys).toEqual(['tok-1']);
    expect(issued).toBe(1);
  });
});
