// README claims of "Token mode" and "Preconditions (If-Match)" that no test showed: issuing
// a token writes nothing to the store, and CORS lets a page on another origin send If-Match
// and read ETag (the help text said so; the headers were not checked).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, memoryStore, TOKEN_PATH, type IdempotencyStore, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

const SECRET = 'readme-claims-test-secret-0123456789-abc';
const ORIGIN = 'https://shop.example';
let calls = 0;
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  const store = memoryStore();
  // Every store method counted, whatever it is.
  const counting = new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || name === 'close') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as IdempotencyStore;
  verifier = createVerifier({ store: counting, handler: createOrdersApi(), tokens: { secrets: [SECRET] }, principal: false, cors: { origin: [ORIGIN] } });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

describe('README claims', () => {
  it('token mode: issuing writes nothing (a flood of token requests cannot fill the store)', async () => {
    const before = calls;
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${url}${TOKEN_PATH}`)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(calls).toBe(before);
  });

  it('preconditions: CORS allows If-Match in a preflight and exposes ETag', async () => {
    const preflight = await fetch(`${url}/orders/1`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'idempotency-key, if-match' },
    });
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/)).toContain('if-match');
    const { token } = (await (await fetch(`${url}${TOKEN_PATH}`)).json()) as { token: string };
    const created = await post(`${url}/orders`, { key: token, body: { item: 'tea' }, headers: { Origin: ORIGIN } });
    const read = await fetch(`${url}/orders/${created.json<{ id: string }>().id}`, { headers: { Origin: ORIGIN } });
    expect(read.headers.get('etag')).toBe('"1"');
    expect(read.headers.get('access-control-expose-headers')?.toLowerCase().split(/,\s*/)).toContain('etag');
  });
});
