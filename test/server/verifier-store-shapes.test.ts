/**
 * createVerifier counts the store's calls through a Proxy (`countingCalls`, for close()).
 * A Proxy must give back a non-writable, non-configurable property's own value: for a
 * frozen store (`Object.freeze(memoryStore())`, a store class that freezes itself) each
 * wrapped method broke that rule, and the first keyed request threw a TypeError out of
 * the middleware, where the store given straight to `idempotency()` works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, memoryStore, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

let verifier: Verifier | undefined;
afterEach(async () => {
  await verifier?.close();
  verifier = undefined;
});

describe('createVerifier with a frozen store', () => {
  it.each([
    ['Object.freeze(memoryStore())', () => Object.freeze(memoryStore())],
    // Spread: no `sync`, so each claim goes through the wrapped `claim`.
    ['a frozen wrapper, Object.freeze({ ...memoryStore() })', () => Object.freeze({ ...memoryStore() })],
  ])('%s: a keyed request runs once, its retry replays, close() resolves', async (_name, makeStore) => {
    let runs = 0;
    verifier = createVerifier({
      store: makeStore(),
      handler: (_req, res) => {
        runs++;
        res.writeHead(201, { 'Content-Type': 'text/plain' }).end('made');
      },
    });
    const url = await verifier.listen(0);
    const first = await Promise.race([post(`${url}/orders`, { key: 'k', body: {} }), new Promise<undefined>((resolve) => setTimeout(resolve, 2000))]);
    expect(first?.status).toBe(201);
    const again = await post(`${url}/orders`, { key: 'k', body: {} });
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(runs).toBe(1);
    const closing = verifier.close();
    verifier = undefined;
    await expect(closing).resolves.toBeUndefined();
  });
});
