/**
 * A `Retry-After` HTTP-date is read against the answer's `Date` (the server's clock), so a
 * client clock minutes off neither retries at once nor gives up. Cross-origin, the page
 * reads `Date` only if CORS exposes it; the verifier's `cors` exposed `Retry-After` but not
 * `Date`, so a page on another origin with its clock 10 minutes ahead read a 2 s pause as
 * none and retried the 429 at once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyCors } from '../src/server/cors.js';
import { SECURE_ORIGIN } from './support/env.js';
import { expect, test } from './support/test.js';

test('a page on another origin with its clock ahead waits the pause a Retry-After date asks for', async ({ page, orders }) => {
  const seen: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (applyCors(req, res, { origin: [SECURE_ORIGIN] }, 'Idempotency-Key')) return;
    req.resume();
    req.on('end', () => {
      seen.push(Date.now());
      res.setHeader('connection', 'close');
      if (seen.length === 1) {
        const date = new Date(Math.floor(Date.now() / 1000) * 1000);
        res.writeHead(429, { date: date.toUTCString(), 'retry-after': new Date(date.getTime() + 2000).toUTCString() }).end();
      } else res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    // The device's clock is 10 minutes ahead of the server's.
    await page.addInitScript(() => {
      const real = Date.now;
      Date.now = () => real() + 600_000;
    });
    await page.goto(orders.page());
    const outcome = await page.evaluate(async (target) => {
      window.so.setup({ retry: { attempts: 2, baseDelay: 10, maxDelay: 20 } });
      return window.so.submit(target, { sku: 'CORS-DATE', qty: 1 });
    }, url);
    expect(outcome).toMatchObject({ ok: true, status: 201 });
    expect(seen).toHaveLength(2);
    expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(1500);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
