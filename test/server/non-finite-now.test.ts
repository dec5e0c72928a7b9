import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStore, idempotency, memoryStore, redisStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf } from './conformance.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { hasRedisServer, startRedis, type RedisProcess } from './redis-process.js';

// A buggy clock (`() => new Date(bad).getTime()` is NaN) took a completed key for expired:
// every `expiresAt > now` is false for NaN, every `expiresAt <= now` true for Infinity,
// and Redis's Lua reads 'NaN' as NaN. The retry then ran its handler a second time.

const response = { status: 201, headers: {}, body: new Uint8Array(Buffer.from('created')) };
const BAD_NOWS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** Each bad `now` is refused or harmless: a completed key stays completed, a running one running. */
async function neverFreedByABadNow(open: () => Promise<IdempotencyStore>): Promise<void> {
  for (const bad of BAD_NOWS) {
    const store = await open();
    const now = Date.now();
    const done = await store.claim(claimOf('done', now));
    if (done.status !== 'claimed') throw new Error('not claimed');
    expect(await store.complete({ key: 'done', token: done.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    const running = await store.claim(claimOf('running', now));
    if (running.status !== 'claimed') throw new Error('not claimed');

    const again = await store.claim(claimOf('done', bad)).catch((error: unknown) => error);
    expect(again instanceof Error || (again as { status: string }).status === 'completed', `claim, now ${bad}`).toBe(true);
    await store.renew({ key: 'running', token: running.token, leaseMs: 5_000, now: bad }).catch(() => false);
    await store.sweep(bad).catch(() => 0);
    expect((await store.claim(claimOf('done', now))).status, `now ${bad}`).toBe('completed');
    expect((await store.claim(claimOf('running', now))).status, `now ${bad}`).toBe('in-progress');

    // A completion stamped with a bad now would keep an answer that never counts as live.
    const late = await store.claim(claimOf('late', now));
    if (late.status !== 'claimed') throw new Error('not claimed');
    await store.complete({ key: 'late', token: late.token, fingerprint: 'fp', response, retentionMs: 60_000, now: bad }).catch(() => false);
    expect((await store.claim(claimOf('late', now))).status, `complete, now ${bad}`).not.toBe('claimed');
    await store.close();
  }
}

describe('a now that is not a finite number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'submit-once-non-finite-now-'));
  let files = 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('memory store: never frees a key', async () => {
    await neverFreedByABadNow(async () => memoryStore({ sweepIntervalMs: 0 }));
  });

  it('file store: never frees a key', async () => {
    await neverFreedByABadNow(async () => fileStore(join(dir, `${files++}.log`), { sweepIntervalMs: 0 }));
  });

  it("memory store: a sweep timer on its own clock gone bad drops nothing and throws nothing", async () => {
    const store = memoryStore({ now: () => Number.NaN, sweepIntervalMs: 5 });
    const now = Date.now();
    const claim = await store.claim(claimOf('k', now));
    if (claim.status !== 'claimed') throw new Error('not claimed');
    expect(await store.complete({ key: 'k', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await store.claim(claimOf('k', now))).status).toBe('completed');
    await store.close();
  });

  it("refused with the middleware's invalid-options error for `now`", async () => {
    const store = memoryStore({ sweepIntervalMs: 0 });
    const error = await store.claim(claimOf('k', Number.NaN)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'InvalidOptionsError', code: 'invalid-options', option: 'now' });
    await store.close();
  });

  it('the middleware answers 503 and does not run the handler again', async () => {
    let clock = Date.now();
    let ran = 0;
    const mw = idempotency({ store: memoryStore({ sweepIntervalMs: 0 }), now: () => clock });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
      clock = Number.NaN;
      expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(503);
      expect((await post(`${server.url}/orders`, { key: 'fresh', body: {} })).status).toBe(503);
      expect(ran).toBe(1);
      clock = Date.now();
      const replay = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect([replay.status, replay.text, ran]).toEqual([201, 'created', 1]);
    } finally {
      await server.close();
      await mw.close();
    }
  });
});

describe.skipIf(!hasRedisServer())("a now that is not a finite number: redis store, clock: 'caller'", () => {
  let redis: RedisProcess;
  let client: Redis;
  let stores = 0;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('never frees a key', async () => {
    await neverFreedByABadNow(async () => redisStore(client, { prefix: `nan${stores++}:`, clock: 'caller' }));
  });

  it("refused with the middleware's invalid-options error for `now`; clock: 'store' ignores it", async () => {
    const store = redisStore(client, { prefix: 'nan-typed:', clock: 'caller' });
    const error = await store.claim(claimOf('k', Number.NaN)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'InvalidOptionsError', code: 'invalid-options', option: 'now' });
    const own = redisStore(client, { prefix: 'nan-store-clock:' });
    expect((await own.claim(claimOf('k', Number.NaN))).status).toBe('claimed');
  });
});
