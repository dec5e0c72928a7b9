import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();

/** The memory store as another store would be: `claim` and `complete` through their promises only. */
const promisesOnly = (): IdempotencyStore => ({ ...memoryStore() });

describe('the async context of the request listener', () => {
  it.each([
    { store: 'the memory store (sync)', make: memoryStore },
    { store: 'a store answering through promises', make: promisesOnly },
  ])('on node:http, where the middleware reads the body, reaches the handler ($store)', async ({ make }) => {
    // What a request-scoped logger or a transactional store's `scope` relies on.
    const context = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const guarded = idempotency({ store: make() }).handler((_req, res) => {
      seen.push(context.getStore());
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
    let requests = 0;
    const url = await serve((req: IncomingMessage, res: ServerResponse) => context.run(`request ${++requests}`, () => guarded(req, res)));
    const first = await post(`${url}/orders`, { key: 'a1', body: { item: 'tea' } });
    const second = await post(`${url}/orders`, { key: 'a2', body: { item: 'tea' } });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(seen).toEqual(['request 1', 'request 2']);
  });
});
