import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotency, isStoreUnavailableError, redisStore, type IdempotencyEvent } from '../../src/server/index.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { hasRedisServer, startRedis, type RedisProcess } from './redis-process.js';

const available = hasRedisServer();
if (!available && process.env.CI !== undefined) {
  throw new Error('redis-server is not on PATH, and CI is set: the Redis store must be tested in CI.');
}

/** A TCP proxy to Redis that can drop the connection when the next reply comes, after Redis ran the command. */
async function droppingProxy(target: number): Promise<{ readonly port: number; dropNextReply(): void; close(): Promise<void> }> {
  let drop = false;
  const proxy = await tcpProxy(target, {
    toClient: (_chunk, { client, upstream }) => {
      if (!drop) return true;
      // The network fails between Redis's answer and the client: the command ran, its reply is lost.
      drop = false;
      client.destroy();
      upstream.destroy();
      return false;
    },
  });
  return {
    ...proxy,
    dropNextReply: () => {
      drop = true;
    },
  };
}

describe.skipIf(!available)('redis store, a reply lost with the connection', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a claim that ran in Redis but whose reply was lost does not leave the key held by nobody', async () => {
    const proxy = await droppingProxy(Number(new URL(redis.url).port));
    // As the CLI configures it: fail fast, one retry (ioredis resends a command whose reply the connection lost).
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    client.on('error', () => undefined);
    await client.connect();
    const store = redisStore(client, { prefix: 'lost-reply:' });
    let ran = 0;
    const mw = idempotency({ store, leaseMs: 500 });
    const http = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end(`order ${ran}`);
    }));
    try {
      // The script is loaded, so the claim goes out as one EVALSHA.
      expect((await post(`${http.url}/orders`, { key: 'warm', body: {} })).status).toBe(201);
      proxy.dropNextReply();
      const first = await post(`${http.url}/orders`, { key: 'k', body: { item: 'tea' } });
      // Whatever the first request got (503, or the order), the key must not be stuck with nobody running it.
      // Past the lease: a claim held by nobody would now answer outcome-unknown for the key's whole retention.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const retry = await post(`${http.url}/orders`, { key: 'k', body: { item: 'tea' } });
      // The handler ran once for 'k' (the first request, or the retry after a 503), and the retry has its order.
      expect({ first: first.status, retry: retry.status, runs: ran }).toEqual({ first: first.status, retry: 201, runs: 2 });
    } finally {
      await http.close();
      await mw.close();
      client.disconnect();
      await proxy.close();
    }
  });
  it('a completion or a release that ran in Redis but whose reply was lost is told as done, not as a lost lease', async () => {
    const proxy = await droppingProxy(Number(new URL(redis.url).port));
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    client.on('error', () => undefined);
    await client.connect();
    const events: IdempotencyEvent[] = [];
    const mw = idempotency({ store: redisStore(client, { prefix: 'lost-settle:' }), onEvent: (event) => events.push(event) });
    let ran = 0;
    const http = await startServer(mw.handler((req, res) => {
      ran++;
      // The next reply from Redis is this run's completion (or release): it is lost.
      proxy.dropNextReply();
      if (req.url === '/fail') throw new Error('no effect');
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${http.url}/warm`, { key: 'warm', body: {} })).status).toBe(201);
      events.length = 0;
      expect((await post(`${http.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
      expect((await post(`${http.url}/fail`, { key: 'f', body: {} })).status).toBe(500);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const replay = await post(`${http.url}/orders`, { key: 'k', body: {} });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(ran).toBe(3);
      expect(events.map((event) => event.type).filter((type) => type === 'completed' || type === 'released' || type === 'lease-lost')).toEqual(['completed', 'released']);
    } finally {
      await http.close();
      await mw.close();
      client.disconnect();
      await proxy.close();
    }
  });
  it('a claim that ran in Redis but whose reply was lost with no resend is freed once Redis is back: the retry runs', async () => {
    const proxy = await droppingProxy(Number(new URL(redis.url).port));
    // No resend: the lost reply fails the command ("Connection is closed").
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    client.on('error', () => undefined);
    await client.connect();
    let ran = 0;
    const mw = idempotency({ store: redisStore(client, { prefix: 'lost-no-resend:' }), leaseMs: 300 });
    const http = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${http.url}/orders`, { key: 'warm', body: {} })).status).toBe(201);
      proxy.dropNextReply();
      const first = await post(`${http.url}/orders`, { key: 'k', body: {} });
      // Past the lease and ioredis's reconnection.
      await new Promise((resolve) => setTimeout(resolve, 800));
      const retry = await post(`${http.url}/orders`, { key: 'k', body: {} });
      expect({ first: first.status, retry: retry.status, runs: ran }).toEqual({ first: 503, retry: 201, runs: 2 });
    } finally {
      await http.close();
      await mw.close();
      client.disconnect();
      await proxy.close();
    }
  });
  it('close() with closeClient fails on a Redis gone silent, its connection closed, rather than waiting for ever on QUIT', async () => {
    let silent = false;
    const proxy = await tcpProxy(Number(new URL(redis.url).port), { toUpstream: () => !silent, toClient: () => !silent });
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    client.on('error', () => undefined);
    await client.connect();
    const store = redisStore(client, { prefix: 'silent-close:', operationTimeoutMs: 200, closeClient: true });
    try {
      await store.claim({ key: 'k', fingerprint: 'fp', leaseMs: 1_000, retentionMs: 1_000, now: Date.now(), recover: false });
      silent = true;
      const closed = await Promise.race([store.close().then(() => 'closed', (error: unknown) => (isStoreUnavailableError(error) ? 'refused' : String(error))), new Promise((resolve) => setTimeout(() => resolve('hung'), 1_500))]);
      // Its socket closed too: a connection left open would keep the process running.
      const ended = await Promise.race([
        new Promise((resolve) => (client.status === 'end' ? resolve('end') : client.once('end', () => resolve('end')))),
        new Promise((resolve) => setTimeout(() => resolve(client.status), 500)),
      ]);
      expect({ closed, ended }).toEqual({ closed: 'refused', ended: 'end' });
    } finally {
      client.disconnect();
      await proxy.close();
    }
  });
});
