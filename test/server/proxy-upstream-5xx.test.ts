/**
 * An upstream's 5xx, counted at the upstream. A 502 or 504 is a gateway's between the
 * verifier and the app (it lost or timed out on the app, which may have acted): the key
 * turns unknown, as when the upstream itself goes silent or cuts its answer. Another 5xx is
 * the app's own failure answer and follows `releaseOn5xx`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type VerifierOptions } from '../../src/server/index.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

/** An upstream that acts on every request (an order), then answers `status`. */
async function orderingUpstream(status: number, options: VerifierOptions = {}): Promise<{ url: string; orders: () => number }> {
  let orders = 0;
  const upstream = await startServer((req, res) => {
    req.resume();
    req.on('end', () => {
      orders++;
      res.writeHead(status, { 'Content-Type': 'text/plain', 'X-From': 'upstream' }).end(`upstream said ${status}`);
    });
  });
  const verifier = createVerifier({ ...options, upstream: upstream.url });
  running.push(verifier, upstream);
  return { url: await verifier.listen(0), orders: () => orders };
}

describe('proxy: an upstream 5xx', () => {
  it.each([502, 504])('%i (a gateway that may have let the app act): the caller gets it as it was, its retry outcome-unknown, the origin is not reached again', async (status) => {
    const { url, orders } = await orderingUpstream(status);
    const first = await post(`${url}/orders`, { key: 'k', body: { sku: 1 } });
    expect([first.status, first.text, first.headers.get('x-from')]).toEqual([status, `upstream said ${status}`, 'upstream']);
    const retry = await post(`${url}/orders`, { key: 'k', body: { sku: 1 } });
    expect(retry.status).toBe(500);
    expect(retry.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(orders()).toBe(1);
  });

  it.each([500, 503])('%i (the app says it failed): the key is released (releaseOn5xx), the retry reaches the origin', async (status) => {
    const { url, orders } = await orderingUpstream(status);
    expect((await post(`${url}/orders`, { key: 'k', body: { sku: 1 } })).status).toBe(status);
    expect((await post(`${url}/orders`, { key: 'k', body: { sku: 1 } })).status).toBe(status);
    expect(orders()).toBe(2);
  });

  it('504 under releaseOn5xx: false still turns the key unknown, not a stored 504 to replay', async () => {
    const { url, orders } = await orderingUpstream(504, { releaseOn5xx: false });
    expect((await post(`${url}/orders`, { key: 'k', body: { sku: 1 } })).status).toBe(504);
    const retry = await post(`${url}/orders`, { key: 'k', body: { sku: 1 } });
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([500, null]);
    expect(orders()).toBe(1);
  });

  it('504 under recovery: true: the retry goes upstream as a recovery run', async () => {
    let recoveries = 0;
    let calls = 0;
    const upstream = await startServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        if (req.headers['idempotency-recovery'] === 'true') recoveries++;
        res.writeHead(calls === 1 ? 504 : 201, { 'Content-Type': 'text/plain' }).end('x');
      });
    });
    const verifier = createVerifier({ upstream: upstream.url, recovery: true });
    running.push(verifier, upstream);
    const url = await verifier.listen(0);
    expect((await post(`${url}/orders`, { key: 'k', body: {} })).status).toBe(504);
    expect((await post(`${url}/orders`, { key: 'k', body: {} })).status).toBe(201);
    expect([calls, recoveries]).toEqual([2, 1]);
  });
});
