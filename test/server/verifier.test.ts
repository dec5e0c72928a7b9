import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, fileStore, type Verifier } from '../../src/server/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';
import { synBlackHole } from '../helpers/syn-black-hole.js';
import { within } from '../helpers/within.js';

/** Starts the bin; resolves with the child and its URL once it listens. */
async function startBin(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/bin.ts', '--port', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', () => reject(new Error(`bin exited early:\n${out}`)));
  });
  return { child, url };
}

async function stopBin(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

const running: Verifier[] = [];
afterEach(async () => {
  for (const v of running.splice(0)) await v.close();
});

async function start(options: Parameters<typeof createVerifier>[0] = {}): Promise<{ verifier: Verifier; url: string }> {
  const verifier = createVerifier(options);
  running.push(verifier);
  return { verifier, url: await verifier.listen(0) };
}

describe('createVerifier', () => {
  it('keeps its built-in orders API out of the public submit-once/server surface', async () => {
    const surface = Object.keys(await import('../../src/server/index.js'));
    expect(surface).toContain('createVerifier');
    expect(surface).not.toContain('createOrdersApi');
  });

  it('serves the orders API once per key and proves it on the stats endpoint', async () => {
    const { url } = await start();
    const first = await post(`${url}/orders`, { key: 'order-1', body: { item: 'tea' } });
    expect(first.status).toBe(201);
    expect(first.json().id).toBe('ord_1');
    expect(first.headers.get('location')).toBe('/orders/ord_1');
    const again = await post(`${url}/orders`, { key: 'order-1', body: { item: 'tea' } });
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await post(`${url}/orders`, { key: 'order-1', body: { item: 'cake' } });

    const list = (await (await fetch(`${url}/orders`)).json()) as { orders: unknown[] };
    expect(list.orders).toHaveLength(1);

    const stats = (await (await fetch(`${url}/__submit-once/stats`)).json()) as {
      totals: Record<string, number>;
      keys: Array<Record<string, unknown>>;
    };
    expect(stats.totals).toMatchObject({ executions: 1, replays: 1, mismatches: 1, rerunsAfterRelease: 0, recoveryRuns: 0, unknownOutcomes: 0 });
    expect(stats.keys).toEqual([
      expect.objectContaining({ key: 'order-1', method: 'POST', route: '/orders', executions: 1, storeExecutions: 1, replays: 1, mismatches: 1, lastStatus: 201 }),
    ]);

    expect((await fetch(`${url}/__submit-once/stats`, { method: 'DELETE' })).status).toBe(204);
    const cleared = (await (await fetch(`${url}/__submit-once/stats`)).json()) as { totals: Record<string, number> };
    expect(cleared.totals.executions).toBe(0);
  });

  it('forgets keys and orders on POST /__submit-once/reset', async () => {
    const { url, verifier } = await start();
    await post(`${url}/orders`, { key: 'k', body: { item: 'tea' } });
    expect((await fetch(`${url}/__submit-once/reset`, { method: 'POST' })).status).toBe(200);
    const after = await post(`${url}/orders`, { key: 'k', body: { item: 'tea' } });
    expect(after.headers.get('idempotent-replayed')).toBeNull();
    expect(after.json().id).toBe('ord_1');
    expect(verifier.stats().totals.executions).toBe(1);
  });

  it('answers GET and HEAD on /__submit-once/health, and any other method 405 with Allow, sent neither to the API nor upstream', async () => {
    let hits = 0;
    const upstream = await startServer((req, res) => {
      hits++;
      req.resume();
      res.end('upstream');
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      const health = `${url}/__submit-once/health`;
      const get = await fetch(health);
      expect(get.status).toBe(200);
      expect(await get.json()).toMatchObject({ ok: true });
      expect((await fetch(health, { method: 'HEAD' })).status).toBe(200);
      for (const method of ['POST', 'DELETE', 'PUT']) {
        const refused = await fetch(health, { method, headers: { 'Idempotency-Key': `k-${method}` } });
        expect([method, refused.status, refused.headers.get('allow')]).toEqual([method, 405, 'GET, HEAD']);
      }
      expect(hits).toBe(0);
    } finally {
      await upstream.close();
    }
  });

  it('answers POST or PUT on /__submit-once/stats 405 with Allow, instead of sending it upstream under a key', async () => {
    let hits = 0;
    const upstream = await startServer((req, res) => {
      hits++;
      req.resume();
      res.end('upstream');
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      const stats = `${url}/__submit-once/stats`;
      for (const method of ['POST', 'PUT']) {
        const refused = await fetch(stats, { method, headers: { 'Idempotency-Key': `k-${method}` }, body: '{}' });
        expect([method, refused.status, refused.headers.get('allow')]).toEqual([method, 405, 'GET, HEAD, DELETE']);
      }
      expect(hits).toBe(0);
      expect((await fetch(stats)).status).toBe(200);
      expect((await fetch(stats, { method: 'DELETE' })).status).toBe(204);
    } finally {
      await upstream.close();
    }
  });

  it('answers another method than POST on /__submit-once/reset 405 with Allow, forgetting nothing and sending nothing upstream', async () => {
    let hits = 0;
    const upstream = await startServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(201).end('made'));
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      expect((await post(`${url}/orders`, { key: 'kept', body: {} })).status).toBe(201);
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const refused = await fetch(`${url}/__submit-once/reset`, { method, headers: { 'Idempotency-Key': `k-${method}` } });
        expect([method, refused.status, refused.headers.get('allow')]).toEqual([method, 405, 'POST']);
      }
      expect(hits).toBe(1);
      expect((await post(`${url}/orders`, { key: 'kept', body: {} })).headers.get('idempotent-replayed')).toBe('true');
    } finally {
      await upstream.close();
    }
  });

  it('counts 50 concurrent submissions of one key as one order', async () => {
    const api = createOrdersApi({
      intercept: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return false;
      },
    });
    const { url } = await start({ handler: api });
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(`${url}/orders`, { key: 'double-click', body: { item: 'tea' } })));
    expect(api.orders()).toHaveLength(1);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
  });

  it('answers CORS preflights allowing the key header and exposes Idempotent-Replayed', async () => {
    const { url } = await start();
    const preflight = await fetch(`${url}/orders`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://shop.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'idempotency-key, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');

    for (const body of [{ item: 'tea' }, { item: 'tea' }, { item: 'other' }]) {
      const answer = await post(`${url}/orders`, { key: 'cors', body, headers: { Origin: 'http://shop.test' } });
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect(answer.headers.get('access-control-expose-headers')).toContain('Idempotent-Replayed');
    }
  });

  it('echoes allowed origins and credentials when configured, and ignores others', async () => {
    const { url } = await start({ cors: { origin: ['http://shop.test'], credentials: true } });
    const ok = await post(`${url}/orders`, { key: 'c1', body: {}, headers: { Origin: 'http://shop.test' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://shop.test');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await post(`${url}/orders`, { key: 'c2', body: {}, headers: { Origin: 'http://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('proxies to an upstream, which sees each key once', async () => {
    let hits = 0;
    const upstream = await startServer((req, res) => {
      hits++;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'application/json', Location: '/things/1' });
        res.end(JSON.stringify({ got: JSON.parse(body) as unknown, key: req.headers['idempotency-key'], path: req.url }));
      });
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      const first = await post(`${url}/things?x=1`, { key: 'p1', body: { a: 1 } });
      expect(first.status).toBe(201);
      expect(first.json()).toEqual({ got: { a: 1 }, key: 'p1', path: '/things?x=1' });
      const again = await post(`${url}/things?x=1`, { key: 'p1', body: { a: 1 } });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe('/things/1');
      expect(again.text).toBe(first.text);
      expect(hits).toBe(1);
    } finally {
      await upstream.close();
    }
  });

  it('forwards the parsed key upstream, and never a client-sent Idempotency-Recovery', async () => {
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    const upstream = await startServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      await post(`${url}/things`, { key: '"quoted-key"', body: {}, headers: { 'Idempotency-Recovery': 'true' } });
      expect(seen[0]?.['idempotency-key']).toBe('quoted-key');
      expect(seen[0]?.['idempotency-recovery']).toBeUndefined();
    } finally {
      await upstream.close();
    }
  });

  it('forwards header lines as sent both ways, dropping the hop-by-hop ones and those the Connection header names', async () => {
    let seen: string[] = [];
    const upstream = await startServer((req, res) => {
      seen = req.rawHeaders;
      req.resume();
      req.on('end', () => {
        res.setHeader('X-Multi', ['v1', 'v2']);
        res.setHeader('Connection', 'keep-alive, X-Hop-Out');
        res.setHeader('X-Hop-Out', 'upstream-only');
        res.end('ok');
      });
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      const { port } = new URL(url);
      const answer = await new Promise<string[]>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/things',
            headers: [
              'Host', 'front.example', 'Idempotency-Key', '"k"', 'X-A', '1', 'X-A', '2', 'Accept-Language', 'fr',
              'Connection', 'keep-alive, X-Hop-In', 'X-Hop-In', 'client-only', 'Content-Type', 'text/plain', 'Content-Length', '2',
            ],
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.rawHeaders));
          },
        );
        req.on('error', reject);
        req.end('hi');
      });
      const pairs = (raw: string[]): string[] => raw.flatMap((value, i) => (i % 2 === 0 ? [`${value}: ${raw[i + 1]}`] : []));
      expect(pairs(seen).filter((line) => !/^(host|connection|content-length):/i.test(line))).toEqual([
        'Idempotency-Key: k',
        'X-A: 1',
        'X-A: 2',
        'Accept-Language: fr',
        'Content-Type: text/plain',
        'x-forwarded-host: front.example',
      ]);
      expect(pairs(answer).filter((line) => /^x-/i.test(line))).toEqual(['X-Multi: v1', 'X-Multi: v2']);
    } finally {
      await upstream.close();
    }
  });

  it('proxies an HTTP/1.0 request that has no Host header', async () => {
    const upstream = await startServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(`forwarded host: ${String(req.headers['x-forwarded-host'])}`));
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.write('POST /things HTTP/1.0\r\nIdempotency-Key: h\r\nContent-Length: 2\r\n\r\nhi');
      await new Promise((resolve) => socket.once('close', resolve));
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(text).toMatch(/forwarded host: undefined$/);
    } finally {
      await upstream.close();
    }
  });

  it('answers 500 outcome-unknown when the upstream hangs up after receiving the request, and never sends it again', async () => {
    let hits = 0;
    const upstream = await startServer((req) => {
      hits++;
      // It may have committed: it read the request, then the connection died.
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    try {
      const { url, verifier } = await start({ upstream: upstream.url });
      for (let i = 0; i < 3; i++) {
        const answer = await post(`${url}/things`, { key: 'hangup', body: { a: 1 } });
        expect(answer.status).toBe(500);
        expect(answer.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
      }
      expect(hits).toBe(1);
      expect(verifier.stats().totals).toMatchObject({ executions: 1, unknownOutcomes: 3, releases: 0 });
    } finally {
      await upstream.close();
    }
  });

  it('answers 500 outcome-unknown once maxRunMs has passed when the upstream never answers, instead of leaving the request hanging', async () => {
    let hits = 0;
    // Reads the request (it may have acted on it) and never answers.
    const upstream = await startServer((req) => {
      hits++;
      req.resume();
    });
    try {
      const { url, verifier } = await start({ upstream: upstream.url, maxRunMs: 300, leaseMs: 100 });
      const answer = await Promise.race([
        post(`${url}/things`, { key: 'silent', body: { a: 1 } }),
        sleep(3_000).then(() => undefined),
      ]);
      expect(answer?.status).toBe(500);
      expect(answer?.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
      const retry = await post(`${url}/things`, { key: 'silent', body: { a: 1 } });
      expect(retry.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
      expect(hits).toBe(1);
      expect(verifier.stats().totals).toMatchObject({ executions: 1, releases: 0 });
    } finally {
      await upstream.close();
    }
  });

  it('answers outcome-unknown, without the upstream headers but with CORS, when the upstream breaks off after its status line', async () => {
    const upstream = await startServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { Location: '/things/1', 'Content-Length': '100' });
        res.flushHeaders();
        setTimeout(() => req.socket.destroy(), 20);
      });
    });
    try {
      const { url } = await start({ upstream: upstream.url });
      const answer = await post(`${url}/things`, { key: 'broken', body: {}, headers: { Origin: 'http://shop.test' } });
      expect(answer.status).toBe(500);
      expect(answer.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
      expect(answer.headers.get('location')).toBeNull();
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect((await post(`${url}/things`, { key: 'broken', body: {} })).status).toBe(500);
    } finally {
      await upstream.close();
    }
  });

  it('with recovery: true sends it again once, marked Idempotency-Recovery: true with its key, for the upstream to dedupe', async () => {
    const seen: Array<{ key: unknown; recovery: unknown }> = [];
    const upstream = await startServer((req, res) => {
      seen.push({ key: req.headers['idempotency-key'], recovery: req.headers['idempotency-recovery'] });
      req.resume();
      req.on('end', () => (seen.length === 1 ? req.socket.destroy() : res.end('recovered')));
    });
    try {
      const { url } = await start({ upstream: upstream.url, recovery: true });
      expect((await post(`${url}/things`, { key: 'rk', body: {} })).status).toBe(500);
      expect((await post(`${url}/things`, { key: 'rk', body: {} })).text).toBe('recovered');
      expect((await post(`${url}/things`, { key: 'rk', body: {} })).headers.get('idempotent-replayed')).toBe('true');
      expect(seen).toEqual([
        { key: 'rk', recovery: undefined },
        { key: 'rk', recovery: 'true' },
      ]);
    } finally {
      await upstream.close();
    }
  });

  it('close({ graceMs }) waits for a handler whose caller hung up, so its completion is stored before the store closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'submit-once-drain-'));
    try {
      const path = join(dir, 'keys.jsonl');
      let started!: () => void;
      const inHandler = new Promise<void>((resolve) => (started = resolve));
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      let runs = 0;
      const handler = async (_req: unknown, res: ServerResponse): Promise<void> => {
        runs++;
        started();
        await finished;
        res.statusCode = 201;
        res.end('done');
      };
      const verifier = createVerifier({ store: fileStore(path), handler });
      const url = await verifier.listen(0);
      const abort = new AbortController();
      const call = fetch(`${url}/orders`, { method: 'POST', headers: { 'Idempotency-Key': 'k' }, body: '{}', signal: abort.signal }).catch(() => 'aborted');
      await inHandler;
      abort.abort();
      expect(await call).toBe('aborted');
      let closed = false;
      const closing = verifier.close({ graceMs: 30_000 }).then(() => (closed = true));
      await sleep(200);
      expect(closed).toBe(false);
      finish();
      await closing;

      const { url: again } = await start({ store: fileStore(path), handler });
      const replay = await post(`${again}/orders`, { key: 'k', raw: '{}' });
      expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([201, 'done', 'true']);
      expect(runs).toBe(1);
    } finally {
      for (const v of running.splice(0)) await v.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 502 when the upstream is down, and does not keep the key', async () => {
    const dead = await startServer(() => undefined);
    const deadUrl = dead.url;
    await dead.close();
    const { url } = await start({ upstream: deadUrl });
    const answer = await post(`${url}/x`, { key: 'k', body: {} });
    expect(answer.status).toBe(502);
    expect(answer.json().type).toBe('https://submit-once.dev/problems/upstream-unavailable');
    expect((await post(`${url}/x`, { key: 'k', body: {} })).headers.get('idempotent-replayed')).toBeNull();
  });

  it('answers 502 and frees the key when the upstream never completes the TCP handshake, after upstreamConnectTimeoutMs rather than never', async () => {
    const hole = await synBlackHole();
    try {
      const { url, verifier } = await start({ upstream: `http://127.0.0.1:${hole.port}`, upstreamConnectTimeoutMs: 300, maxRunMs: 60_000, leaseMs: 200 });
      const started = Date.now();
      const answer = await within(3_000, post(`${url}/x`, { key: 'k', body: {} }));
      expect(answer === 'no answer' ? answer : [answer.status, answer.json().type]).toEqual([502, 'https://submit-once.dev/problems/upstream-unavailable']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      // Nothing was sent: the same key may run again, and is not answered in-progress or unknown.
      const retry = await within(3_000, post(`${url}/x`, { key: 'k', body: {} }));
      expect(retry === 'no answer' ? retry : retry.status).toBe(502);
      expect(verifier.stats().totals).toMatchObject({ releases: 2, unknownOutcomes: 0 });
    } finally {
      hole.close();
    }
  });

  it('counts the TLS handshake as connecting: an https upstream that accepts the TCP connection and never answers it gets 502 and frees the key', async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const { url, verifier } = await start({ upstream: `https://127.0.0.1:${port}`, upstreamConnectTimeoutMs: 300, maxRunMs: 60_000 });
      for (let i = 0; i < 2; i++) {
        const answer = await within(3_000, post(`${url}/x`, { key: 'tls', body: {} }));
        expect(answer === 'no answer' ? answer : answer.status).toBe(502);
      }
      expect(verifier.stats().totals).toMatchObject({ releases: 2, unknownOutcomes: 0 });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('never replays a truncated response: over maxResponseBytes a replay answers 410', async () => {
    const big = 'x'.repeat(5_000);
    let runs = 0;
    const notStored: unknown[] = [];
    const { url } = await start({
      maxResponseBytes: 1_000,
      onEvent: (event) => {
        if (event.type === 'response-not-stored') notStored.push(event);
      },
      handler: (_req, res) => {
        runs++;
        res.setHeader('Content-Type', 'text/plain');
        res.write(big.slice(0, 2_500));
        res.end(big.slice(2_500));
      },
    });
    const first = await post(`${url}/report`, { key: 'big', body: {} });
    expect(first.status).toBe(200);
    expect(first.text).toBe(big);
    const again = await post(`${url}/report`, { key: 'big', body: {} });
    expect(again.status).toBe(410);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json()).toMatchObject({ type: 'https://submit-once.dev/problems/response-not-stored', originalStatus: 200 });
    expect(runs).toBe(1);
    expect(notStored).toEqual([{ key: 'big', method: 'POST', route: '/report', type: 'response-not-stored', bytes: 5_000, limit: 1_000 }]);
  });
});

describe('submit-once-verifier bin', () => {
  it('starts, serves, and stops on SIGTERM; --shared-keys puts every caller in one key space', async () => {
    const { child, url } = await startBin(['--shared-keys', '--max-run-ms', '60000']);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const alice = await post(`${url}/orders`, { key: 'bin', body: { item: 'tea' }, headers: { Authorization: 'Bearer alice' } });
      expect(alice.status).toBe(201);
      const mallory = await post(`${url}/orders`, { key: 'bin', body: { item: 'tea' }, headers: { Authorization: 'Bearer mallory' } });
      expect(mallory.headers.get('idempotent-replayed')).toBe('true');
      const health = (await (await fetch(`${url}/__submit-once/health`)).json()) as { ok: boolean };
      expect(health.ok).toBe(true);
    } finally {
      await stopBin(child);
    }
  });

  it('takes its token secret from SUBMIT_ONCE_TOKEN_SECRET, so that it is not on the command line', async () => {
    const { child, url } = await startBin([], { SUBMIT_ONCE_TOKEN_SECRET: 's'.repeat(32) });
    try {
      const issued = await fetch(`${url}/__submit-once/token`);
      expect(issued.status).toBe(200);
      const { token } = (await issued.json()) as { token: string };
      expect((await post(`${url}/orders`, { key: token, body: { item: 'tea' } })).status).toBe(201);
      expect((await post(`${url}/orders`, { key: 'made-up', body: { item: 'tea' } })).json().type).toBe('https://submit-once.dev/problems/token-invalid');
    } finally {
      await stopBin(child);
    }
  });

  it('--upstream-connect-timeout-ms bounds a handshake the upstream never answers: 502', async () => {
    const hole = await synBlackHole();
    const { child, url } = await startBin(['--upstream', `http://127.0.0.1:${hole.port}`, '--upstream-connect-timeout-ms', '200']);
    try {
      const answer = await within(3_000, post(`${url}/x`, { key: 'k', body: {} }));
      expect(answer === 'no answer' ? answer : answer.status).toBe(502);
    } finally {
      await stopBin(child);
      hole.close();
    }
  });

  it('killed -9 mid-request on the file store: after the restart the key answers outcome-unknown at once; --recovery runs it again marked as such', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'submit-once-bin-'));
    const store = `file:${join(dir, 'keys.jsonl')}`;
    const seen: Array<{ key: unknown; recovery: unknown; user: unknown }> = [];
    const hanging: ServerResponse[] = [];
    const upstream = await startServer((req, res) => {
      seen.push({ key: req.headers['idempotency-key'], recovery: req.headers['idempotency-recovery'], user: req.headers['x-user'] });
      req.resume();
      // The first request "commits" and then its verifier dies before the answer.
      req.on('end', () => (seen.length === 1 ? hanging.push(res) : res.end(`done ${seen.length}`)));
    });
    let bin = await startBin(['--store', store, '--upstream', upstream.url]);
    try {
      void post(`${bin.url}/orders`, { key: 'crash', body: { item: 'tea' } }).catch(() => undefined);
      while (seen.length === 0) await sleep(20);
      await stopBin(bin.child, 'SIGKILL');

      bin = await startBin(['--store', store, '--upstream', upstream.url]);
      const after = await post(`${bin.url}/orders`, { key: 'crash', body: { item: 'tea' } });
      expect(after.status).toBe(500);
      expect(after.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
      expect(seen).toHaveLength(1);
      await stopBin(bin.child);

      bin = await startBin(['--store', store, '--upstream', upstream.url, '--recovery', '--principal-header', 'X-User']);
      const recovered = await post(`${bin.url}/orders`, { key: 'crash', body: { item: 'tea' } });
      expect(recovered.text).toBe('done 2');
      expect(seen[1]).toEqual({ key: 'crash', recovery: 'true', user: undefined });
      // --principal-header: the header's value scopes the key.
      await post(`${bin.url}/orders`, { key: 'p', body: {}, headers: { 'X-User': 'alice' } });
      const bob = await post(`${bin.url}/orders`, { key: 'p', body: {}, headers: { 'X-User': 'bob' } });
      expect(bob.headers.get('idempotent-replayed')).toBeNull();
      expect(seen.map((s) => s.user)).toEqual([undefined, undefined, 'alice', 'bob']);
    } finally {
      await stopBin(bin.child);
      for (const res of hanging) res.destroy();
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits with a clear message on an unknown store', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/bin.ts', '--store', 'mongo:x'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    // A malformed spec is a usage error (exit 2), not a runtime failure: see bin.test.ts.
    expect(code).toBe(2);
    expect(err).toContain('--store must be memory, file:PATH, redis:URL or postgres:URL, got "mongo:x"');
  });
});
