/**
 * One keep-alive connection serves many guarded requests. The capture wraps its socket's
 * `destroy` twice over (the cut watch, and the deferral while an end waits for the store):
 * each must be wrapped once per socket, not once per request, or the chain grows with
 * every request until a destroy of the socket overflows the stack.
 */
import http, { type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();

/** The memory store without its synchronous path: every end waits for `complete`'s promise (as a file or Redis store's does). */
function asyncStore(): IdempotencyStore {
  const { sync: _sync, ...rest } = memoryStore();
  return rest;
}

function send(url: string, agent: http.Agent, key: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    request.on('error', () => resolve(0));
    request.end('{}');
  });
}

describe('a keep-alive connection that served many guarded requests', () => {
  it("a handler's destroy of its socket after 8000 requests on it does not overflow the stack", { timeout: 30_000 }, async () => {
    const REQUESTS = 8000;
    let served = 0;
    let destroyFailed: unknown;
    const url = await serve(
      idempotency({ store: asyncStore() }).handler((_req, res: ServerResponse) => {
        served++;
        if (served <= REQUESTS) return void res.end('ok');
        res.writeHead(201);
        res.write('part');
        try {
          res.socket!.destroy();
        } catch (error) {
          destroyFailed = error;
        }
      }),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < REQUESTS; i++) expect(await send(`${url}/orders`, agent, `k${i}`)).toBe(200);
      expect(await send(`${url}/orders`, agent, 'cut')).toBe(0);
    } finally {
      agent.destroy();
    }
    expect(String(destroyFailed ?? 'none')).toBe('none');
    expect(served).toBe(REQUESTS + 1);
  });
});
