/**
 * What the proxy (`createVerifier({ upstream })`, `--upstream`) passes through and stores,
 * counted at the upstream: each key's request reaches it once.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

async function proxying(listener: Parameters<typeof startServer>[0]): Promise<{ url: string; upstream: ListeningServer; verifier: Verifier }> {
  const upstream = await startServer(listener);
  const verifier = createVerifier({ upstream: upstream.url });
  running.push(verifier, upstream);
  return { url: await verifier.listen(0), upstream, verifier };
}

function send(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('proxy passthrough', () => {
  it('HEAD: the upstream Content-Length reaches the caller (the size of what GET would send)', async () => {
    const { url } = await proxying((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '1234' });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
    });
    const head = await send(`${url}/file`, 'HEAD');
    expect([head.status, head.headers['content-length']]).toEqual([200, '1234']);
    const get = await send(`${url}/file`, 'GET');
    expect([get.headers['content-length'], get.body.length]).toEqual(['1234', 1234]);
  });

  it('a chunked answer the upstream breaks off is not stored as whole: outcome-unknown, and the upstream ran once', async () => {
    let hits = 0;
    const { url } = await proxying((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'text/plain' });
        res.write('first half');
        setTimeout(() => req.socket.destroy(), 20);
      });
    });
    await post(`${url}/orders`, { key: 'cut', body: {} }).catch(() => undefined);
    const retry = await post(`${url}/orders`, { key: 'cut', body: {} });
    expect([retry.status, retry.json().type, hits]).toEqual([500, 'https://submit-once.dev/problems/outcome-unknown', 1]);
  });

  it('Expect: 100-continue: the body goes upstream once, and the retry replays', async () => {
    let hits = 0;
    const { url } = await proxying((req, res) => {
      hits++;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.writeHead(201, { 'Content-Type': 'application/json' }).end(body));
    });
    const first = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const outgoing = request(`${url}/orders`, { method: 'POST', headers: { 'Idempotency-Key': 'ex', 'Content-Type': 'application/json', Expect: '100-continue' } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      outgoing.on('continue', () => outgoing.end('{"a":1}'));
      outgoing.on('error', reject);
      outgoing.flushHeaders();
    });
    expect(first).toEqual({ status: 201, body: '{"a":1}' });
    const retry = await post(`${url}/orders`, { key: 'ex', raw: '{"a":1}' });
    expect([retry.status, retry.headers.get('idempotent-replayed'), hits]).toEqual([201, 'true', 1]);
  });

  it('a redirect is passed back, not followed, and replayed with its Location; the upstream ran once', async () => {
    let hits = 0;
    const { url } = await proxying((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(303, { Location: '/orders/1', 'Set-Cookie': 'session=abc' }).end());
    });
    const keyed = { 'Idempotency-Key': 'r', 'Content-Type': 'application/json' };
    const first = await send(`${url}/orders`, 'POST', keyed, '{}');
    expect([first.status, first.headers.location, first.headers['set-cookie']]).toEqual([303, '/orders/1', ['session=abc']]);
    const retry = await send(`${url}/orders`, 'POST', keyed, '{}');
    expect([retry.status, retry.headers.location, retry.headers['idempotent-replayed'], retry.headers['set-cookie'], hits]).toEqual([303, '/orders/1', 'true', undefined, 1]);
  });

  it('a raw HTTP/1.1 request with a chunked body goes upstream once, whole, with a Content-Length', async () => {
    const seen: Array<{ te: unknown; cl: unknown; body: string }> = [];
    const { url } = await proxying((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ te: req.headers['transfer-encoding'], cl: req.headers['content-length'], body });
        res.writeHead(201).end('ok');
      });
    });
    const { port } = new URL(url);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ch\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer.startsWith('HTTP/1.1 201')).toBe(true);
    expect(seen).toEqual([{ te: undefined, cl: '7', body: '{"a":1}' }]);
  });

  it("prefixes each request's path with the upstream URL's path (--help: 'its path is prefixed'), with or without its trailing slash", async () => {
    const seen: string[] = [];
    const upstream = await startServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(201).end('ok'));
    });
    running.push(upstream);
    for (const base of [`${upstream.url}/v1`, `${upstream.url}/v1/`]) {
      const verifier = createVerifier({ upstream: base });
      running.push(verifier);
      const url = await verifier.listen(0);
      expect((await post(`${url}/orders?x=1`, { key: base, body: {} })).status).toBe(201);
    }
    expect(seen).toEqual(['/v1/orders?x=1', '/v1/orders?x=1']);
  });
});
