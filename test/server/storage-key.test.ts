import { describe, expect, it } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();

/** A memory store that remembers the storage keys it was asked to claim. */
function recordingStore(keys: string[]): IdempotencyStore {
  const store = memoryStore();
  return { ...store, claim: (request) => (keys.push(request.key), store.claim(request)) };
}

describe('storage key', () => {
  // Durable stores keep keys across versions: the text must stay JSON.stringify([principal, method, route, key]).
  it.each([
    ['a principal with characters JSON escapes', 'user "7"\\\n\ud800', '/orders/é'],
    ['no principal', undefined, '/orders'],
    ['a principal resolver that returns a number at runtime', 7 as unknown as string, '/orders'],
  ])('is the JSON array of its four parts: %s', async (_name, principal, path) => {
    const keys: string[] = [];
    const url = await serve(
      idempotency({ store: recordingStore(keys), principal: () => principal }).handler((_req, res) => {
        res.writeHead(201).end('ok');
      }),
    );
    expect((await post(`${url}${encodeURI(path)}`, { key: 'k"1', body: {} })).status).toBe(201);
    expect(keys).toEqual([JSON.stringify([principal ?? null, 'POST', encodeURI(path), 'k"1'])]);
  });
});
