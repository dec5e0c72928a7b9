// A token request that never answers (a stalled connection at page load, a proxy holding
// it) held the submission that took it for good: a caller without an abort signal of its
// own (most clicks) never settled, neither sent nor failed. Each token request now has a
// time limit, after which the take fails with TokenUnavailableError and the next asks again.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createVerifier, TOKEN_PATH, type Verifier } from '../../src/server/index.js';
import { serverTokens, TokenUnavailableError } from '../../src/tokens/index.js';

const SECRET = 'token-hang-test-secret-0123456789-abcdefg';
let runs = 0;
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({
    tokens: { secrets: [SECRET], ttl: 60_000 },
    principal: false,
    handler: (_req, res) => {
      runs++;
      res.statusCode = 201;
      res.end('ordered');
    },
  });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

/** Within `ms`, the settled value (or error), else 'still pending'. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then((value) => value, (error: unknown) => error), new Promise((resolve) => setTimeout(() => resolve('still pending'), ms))]);

describe('a token request that never answers', () => {
  it('a submission without a signal is not held for good: TokenUnavailableError, and the next one orders once', async () => {
    runs = 0;
    let tokenRequests = 0;
    // The first token request stalls (ignoring any signal, as a stalled connection may);
    // the endpoint answers every later one.
    const stallingFirst: typeof fetch = (input, init) => (++tokenRequests === 1 ? new Promise<Response>(() => {}) : fetch(input, init));
    const tokens = serverTokens({ url: `${url}${TOKEN_PATH}`, fetch: stallingFirst, timeout: 200 });
    const post = createIdempotentFetch({ tokenProvider: tokens, store: memoryStore(), locks: null });
    const order = () => post(`${url}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'content-type': 'application/json' } });

    // Before: 'still pending' for good (the take waited on the token request made at page load).
    expect(await within(order(), 1_500)).toBeInstanceOf(TokenUnavailableError);
    expect(runs).toBe(0);
    const second = await within(order(), 1_500);
    expect(second).toBeInstanceOf(Response);
    expect((second as Response).status).toBe(201);
    expect(runs).toBe(1);
  });


  it('rejects a take with TokenUnavailableError after the time limit (default 10 s), nothing sent', async () => {
    vi.useFakeTimers();
    try {
      const tokens = serverTokens({ url: `${url}${TOKEN_PATH}`, fetch: () => new Promise<Response>(() => {}) });
      const taken = tokens().catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(9_999);
      expect(await Promise.race([taken, Promise.resolve('still pending')])).toBe('still pending');
      await vi.advanceTimersByTimeAsync(1);
      const error = await taken;
      expect(error).toBeInstanceOf(TokenUnavailableError);
      expect((error as Error).message).toMatch(/did not answer within 10000 ms/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("aborts the token request it gave up on, and still ends it on the caller's own init.signal", async () => {
    const signals: AbortSignal[] = [];
    const hanging: typeof fetch = (_input, init) => {
      signals.push(init!.signal!);
      return new Promise<Response>(() => {});
    };
    const own = new AbortController();
    const tokens = serverTokens({ url: `${url}${TOKEN_PATH}`, fetch: hanging, timeout: 50, eager: false, init: { signal: own.signal } });
    expect(await within(tokens(), 1_000)).toBeInstanceOf(TokenUnavailableError);
    expect(signals[0]!.aborted).toBe(true);
    const next = tokens().catch((error: unknown) => error);
    own.abort();
    expect(await within(next, 40)).toBeInstanceOf(TokenUnavailableError);
    expect(signals[1]!.aborted).toBe(true);
  });

  it('takes Infinity as no limit, and refuses a limit that would fail every take', async () => {
    const answering = serverTokens({ url: `${url}${TOKEN_PATH}`, timeout: Infinity, eager: false });
    expect(await answering()).toMatch(/^st2\./);
    for (const timeout of [0, -1, Number.NaN]) {
      expect(() => serverTokens({ url: `${url}${TOKEN_PATH}`, timeout, eager: false })).toThrow(InvalidOptionsError);
    }
  });
});
