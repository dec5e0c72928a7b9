// The page's clock is not the server's: a token's expiresAt (server time) compared with the
// page's Date.now() is off by the skew. A page 6 minutes behind kept a token the server had
// already expired and sent it (token-expired: a final 400); a page ahead dropped valid ones.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, TOKEN_PATH, type Verifier } from '../../src/server/index.js';
import { serverTokens } from '../../src/tokens/index.js';

const SECRET = 'clock-skew-test-secret-0123456789-abcdef';
const TTL = 10 * 60_000;
const SKEW = 6 * 60_000;
const api = createOrdersApi();
let serverClock = Date.now();
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({ handler: api, tokens: { secrets: [SECRET], ttl: TTL }, principal: false, now: () => serverClock });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

describe('serverTokens under clock skew', () => {
  it.each([
    ['behind', -SKEW],
    ['ahead', +SKEW],
  ])('a page whose clock is 6 min %s the server: a token the server expired is not sent, a valid one is not dropped', async (_label, skew) => {
    const issued: string[] = [];
    const tokenFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      issued.push(((await response.clone().json()) as { token: string }).token);
      return response;
    };
    const pageNow = () => serverClock + skew;
    const tokens = serverTokens({ url: `${url}${TOKEN_PATH}`, fetch: tokenFetch, now: pageNow, eager: false });
    tokens.prefetch();
    const first = await tokens();
    expect(issued).toEqual([first]);
    // The token fetched ahead after that take, now held (polled: a fixed 50 ms wait missed it on a loaded machine).
    await vi.waitFor(() => expect(issued).toHaveLength(2));

    // 4 min on: the held token (10 min) is valid at the server; taken as it is, without a fetch.
    serverClock += 4 * 60_000;
    expect(await tokens()).toBe(issued[1]);
    await vi.waitFor(() => expect(issued).toHaveLength(3));

    // 10 min and 1 s on: the held token expired at the server; a fresh one is sent, and orders.
    serverClock += 10 * 60_000 + 1000;
    const post = createIdempotentFetch({ tokenProvider: tokens, store: memoryStore(), locks: null, now: pageNow });
    const response = await post(`${url}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(201);
  });
});
