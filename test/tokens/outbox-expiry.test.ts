// README (token mode): a submission held in the outbox past its token's lifetime, before any
// attempt reached the server, gets token-expired when replayed: a final 400, nothing run,
// never a second order. The outbox is the fake one; its replay goes to a real verifier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, problemType, TOKEN_PATH, type Verifier } from '../../src/server/index.js';
import { serverTokens } from '../../src/tokens/index.js';
import { fakeOutbox, heldCount } from '../outbox/fake-outbox.js';

const SECRET = 'outbox-expiry-test-secret-0123456789-abc';
const TTL = 60_000;
const api = createOrdersApi();
let serverClock = Date.now();
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({ handler: api, tokens: { secrets: [SECRET], ttl: TTL }, principal: false, now: () => serverClock });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

describe('token mode and the outbox', () => {
  it('a submission held offline past its token lifetime: the replay is a final token-expired, no order; the next one orders once', async () => {
    const outbox = fakeOutbox();
    const tokens = serverTokens({ url: `${url}${TOKEN_PATH}`, now: () => serverClock });
    const post = createIdempotentFetch({ tokenProvider: tokens, store: memoryStore(), locks: null, outbox, queue: true, now: () => serverClock, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const order = () => post(`${url}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'content-type': 'application/json' } });

    outbox.offlineNow = true;
    const pending = order();
    await heldCount(outbox, 1);
    const [held] = outbox.held;
    // Back online long after: the outbox replays the request as it was held.
    serverClock += TTL + 1_000;
    outbox.offlineNow = false;
    const replayed = await fetch(held!.url, { method: held!.method, headers: [...held!.headers], body: held!.body as BodyInit });
    outbox.answer(replayed);
    const answer = await pending;
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { type: string }).type).toBe(problemType('token-expired'));
    expect(api.orders()).toHaveLength(0);

    // Final: the same cart ordered again (past the settle window) is a new intent with a
    // fresh token, and runs once.
    serverClock += 1_001;
    const again = await order();
    expect(again.status).toBe(201);
    expect(api.orders()).toHaveLength(1);
    expect(outbox.held).toHaveLength(1);
  });
});
