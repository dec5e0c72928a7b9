/**
 * The per-attempt `timeout` bounds the wait for the response headers, not the body: once
 * a 201's headers are in, the key is retired, so a body aborted afterwards would make the
 * user's next try a new intent (a second order). Found by the chaos suite.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { memoryStore } from '../../src/core/store.js';

let server: Server;
let url: string;
let requests: number;

beforeEach(async () => {
  requests = 0;
  // Headers at once, the body 300 ms later: well past the 100 ms attempt timeout.
  server = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.flushHeaders();
      res.write('{"id":');
      setTimeout(() => res.end('1}'), 300);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
});
afterEach(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

it('reads a slow body after fast headers, past the attempt timeout: one request', async () => {
  const fetchOnce = createIdempotentFetch({ store: memoryStore(), locks: null, timeout: 100, retry: 3 });
  const response = await fetchOnce(url, { method: 'POST', body: '{"sku":"A"}' });
  expect(response.status).toBe(201);
  expect(await response.json()).toEqual({ id: 1 });
  expect(requests).toBe(1);
});

it("the caller's own signal still aborts the body after the headers", async () => {
  const fetchOnce = createIdempotentFetch({ store: memoryStore(), locks: null, timeout: 100, retry: 3 });
  const controller = new AbortController();
  const response = await fetchOnce(url, { method: 'POST', body: '{"sku":"B"}', signal: controller.signal });
  const body = response.text();
  controller.abort();
  await expect(body).rejects.toMatchObject({ name: 'AbortError' });
});
