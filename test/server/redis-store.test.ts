import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { idempotency, isStoreUnavailableError, redisStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf, runConformance } from './conformance.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { hasRedisServer, startRedis, type RedisProcess } from './redis-process.js';

const available = hasRedisServer();
if (!available && process.env.CI !== undefined) {
  throw new Error('redis-server is not on PATH, and CI is set: the Redis store must be tested in CI.');
}
if (!available) console.warn('\n[submit-once] redis-server not found on PATH: SKIPPING the Redis store suite.\n');

describe.skipIf(!available)('redis store', () => {
  let redis: RedisProcess;
  let client: Redis;
  let counter = 0;
  const prefixes = new WeakMap<IdempotencyStore, string>();

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  const okBody = { status: 200, headers: {}, body: new Uint8Array(Buffer.from('ok')) };
  // The suite moves time by hand, through the middleware's `now`.
  const open = (prefix: string): IdempotencyStore => {
    const store = redisStore(client, { prefix, clock: 'caller' });
    prefixes.set(store, prefix);
    return store;
  };

  runConformance({
    name: 'redis',
    create: async () => open(`test-${++counter}:`),
    reopen: async (store) => {
      await store.close();
      const prefix = prefixes.get(store);
      if (prefix === undefined) throw new Error('unknown store');
      // A new store instance: only what Redis holds carries over, as after a restart.
      return open(prefix);
    },
  });

  it('gives each record a Redis expiry of its lease, its retention and the margin, so Redis drops it by itself', async () => {
    const store = redisStore(client, { prefix: 'ttl:', expiryMarginMs: 50 });
    const now = Date.now();
    const claim = await store.claim(claimOf('k', now, { leaseMs: 50, retentionMs: 0 }));
    expect(claim.status).toBe('claimed');
    expect(await client.pttl('ttl:k')).toBeLessThanOrEqual(100);
    expect(await client.pttl('ttl:k')).toBeGreaterThan(0);
  });

  it('clears only its own prefix', async () => {
    const a = redisStore(client, { prefix: 'clear-a:' });
    const b = redisStore(client, { prefix: 'clear-b:' });
    const now = Date.now();
    await a.claim(claimOf('k', now, { leaseMs: 10_000 }));
    await b.claim(claimOf('k', now, { leaseMs: 10_000 }));
    await a.clear();
    expect((await a.claim(claimOf('k', now, { leaseMs: 10_000 }))).status).toBe('claimed');
    expect((await b.claim(claimOf('k', now, { leaseMs: 10_000 }))).status).toBe('in-progress');
  });

  it("sweeps and clears only its own records, not the app's keys that share the prefix", async () => {
    // A prefix such as the app's own namespace: its other keys are not ours to delete.
    await client.hset('shared:user:1', 'name', 'Ada');
    await client.set('shared:session:1', 'token');
    // The caller's clock: the old record was claimed two minutes ago.
    const store = redisStore(client, { prefix: 'shared:', clock: 'caller' });
    const now = Date.now();
    const kept = await store.claim(claimOf('kept', now, { leaseMs: 60_000 }));
    await store.claim(claimOf('old', now - 120_000, { leaseMs: 1_000, retentionMs: 1_000 }));
    expect(kept.status).toBe('claimed');
    expect(await store.sweep(now)).toBe(1);
    expect(await client.exists('shared:old', 'shared:kept')).toBe(1);
    await store.clear();
    expect(await client.exists('shared:kept')).toBe(0);
    expect(await client.hget('shared:user:1', 'name')).toBe('Ada');
    expect(await client.get('shared:session:1')).toBe('token');
  });

  it('runs on after SCRIPT FLUSH (as after a failover to a replica that never loaded the script)', async () => {
    const store = redisStore(client, { prefix: 'flushed:' });
    const now = Date.now();
    const first = await store.claim(claimOf('a', now));
    await client.script('FLUSH');
    const second = await store.claim(claimOf('a', now));
    await client.script('FLUSH');
    expect(await store.sweep(now)).toBe(0);
    expect([first.status, second.status]).toEqual(['claimed', 'in-progress']);
  });

  it('sends the steps queued while a batch is in flight as one command, each with its own answer', async () => {
    const store = redisStore(client, { prefix: 'batch:' });
    const now = Date.now();
    await client.config('RESETSTAT');
    const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => store.claim(claimOf(`k${i % 20}`, now, { leaseMs: 10_000 }))));
    // Counted by Redis itself: how many script calls reached it.
    const calls = Number(/cmdstat_evalsha:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(2);
    expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(20);
    expect(claims.filter((c) => c.status === 'in-progress')).toHaveLength(20);
    const completions = await Promise.all(
      claims.map((c, i) => (c.status === 'claimed' ? store.complete({ key: `k${i % 20}`, token: c.token, fingerprint: 'fp', response: okBody, retentionMs: 60_000, now }) : false)),
    );
    expect(completions.filter(Boolean)).toHaveLength(20);
    const replay = await store.claim(claimOf('k7', now, { leaseMs: 10_000 }));
    expect(replay.status).toBe('completed');
    if (replay.status === 'completed') expect(Buffer.from(replay.response.body).toString()).toBe('ok');
  });

  it('keeps every argument of a batch exact: colons, digits and characters of several bytes', async () => {
    const store = redisStore(client, { prefix: 'packed:' });
    const now = Date.now();
    // Each step's arguments travel in one packed string, measured in bytes: a wrong length
    // in one step shifts every step after it in the same batch.
    const odd = '12:ab€:😀:\u00e9';
    const response = { status: 201, headers: { 'x-note': 'caf\u00e9: 3:4' }, body: new Uint8Array(Array.from({ length: 256 }, (_, i) => i)) };
    const claims = await Promise.all([
      store.claim({ ...claimOf('a', now, { leaseMs: 10_000 }), fingerprint: odd }),
      store.claim({ ...claimOf('b', now, { leaseMs: 10_000 }), fingerprint: 'plain' }),
    ]);
    const [a, b] = claims;
    if (a?.status !== 'claimed' || b?.status !== 'claimed') throw new Error('not claimed');
    expect(
      await Promise.all([
        store.complete({ key: 'a', token: a.token, fingerprint: odd, response, retentionMs: 60_000, now }),
        store.complete({ key: 'b', token: b.token, fingerprint: 'plain', response: okBody, retentionMs: 60_000, now }),
      ]),
    ).toEqual([true, true]);
    const [replayA, replayB] = await Promise.all([store.claim(claimOf('a', now)), store.claim(claimOf('b', now))]);
    expect(replayA?.status === 'completed' && replayA.fingerprint).toBe(odd);
    if (replayA?.status === 'completed') {
      expect(replayA.response.headers).toEqual(response.headers);
      expect([...replayA.response.body]).toEqual([...response.body]);
    }
    expect(replayB?.status === 'completed' && replayB.fingerprint).toBe('plain');
  });

  it('fails only the step whose key Redis refuses, not the others of its batch', async () => {
    const store = redisStore(client, { prefix: 'wrongtype:' });
    await client.set('wrongtype:taken', 'a string, not a record');
    const now = Date.now();
    const [bad, good] = await Promise.allSettled([store.claim(claimOf('taken', now)), store.claim(claimOf('free', now))]);
    expect(bad.status).toBe('rejected');
    if (bad.status === 'rejected') expect(isStoreUnavailableError(bad.reason)).toBe(true);
    expect(good.status === 'fulfilled' && good.value.status).toBe('claimed');
  });

  it('never sends a step that timed out while it waited behind the batch in flight', async () => {
    // Redis runs one script at a time: this one keeps it busy for 300 ms, so the first
    // batch cannot be answered before both deadlines have passed.
    const blocker = client.duplicate();
    const busy = blocker.eval("local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 300000 return 1", 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const store = redisStore(client, { prefix: 'late:', operationTimeoutMs: 50 });
    const now = Date.now();
    const sent = store.claim(claimOf('sent', now)).catch((error: unknown) => error);
    // The first claim's batch goes out on the next tick; the second waits behind it.
    await new Promise((resolve) => process.nextTick(resolve));
    const queued = store.claim(claimOf('queued', now)).catch((error: unknown) => error);
    // Both deadlines pass while the event loop is busy: the timer then fails both at once,
    // which frees the batcher, and the second must not go out afterwards.
    const busyUntil = performance.now() + 150;
    while (performance.now() < busyUntil);
    expect(isStoreUnavailableError(await sent)).toBe(true);
    expect(isStoreUnavailableError(await queued)).toBe(true);
    await busy;
    await blocker.quit();
    await store.claim(claimOf('after', Date.now()));
    // Counted in Redis: the first claim ran there (it had been sent), the second never did.
    expect(await client.exists('late:sent')).toBe(1);
    expect(await client.exists('late:queued')).toBe(0);
    const retry = await store.claim(claimOf('queued', now));
    expect(retry.status === 'claimed' && retry.executions).toBe(1);
  });

  it('frees a claim whose reply came after its 503: the retry runs the handler once, not 409 and then outcome-unknown', async () => {
    // The script is sent at once and runs in Redis at once; only its reply is late, past
    // the deadline, so the request was answered 503 ("retry with the same key").
    let slowReplies = true;
    const late = <T>(reply: Promise<T>): Promise<T> =>
      slowReplies ? reply.finally(() => new Promise((resolve) => setTimeout(resolve, 150))) : reply;
    const slow = {
      evalsha: (sha1: string, numKeys: number, ...args: (string | number)[]) => late(client.evalsha(sha1, numKeys, ...args)),
      eval: (script: string, numKeys: number, ...args: (string | number)[]) => late(client.eval(script, numKeys, ...args)),
    };
    let ran = 0;
    const mw = idempotency({ store: redisStore(slow, { prefix: 'late-reply:', operationTimeoutMs: 50 }), leaseMs: 200 });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(503);
      slowReplies = false;
      // Past the late reply and past the lease the orphaned claim would hold.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const retry = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect(retry.status).toBe(201);
      expect(retry.text).toBe('created');
      expect(ran).toBe(1);
    } finally {
      await server.close();
      await mw.close();
    }
  });

  it('keeps a key unknown when a recovering claim that took it over was answered 503 before its reply came', async () => {
    const slowClient = {
      evalsha: (sha1: string, numKeys: number, ...args: (string | number)[]) =>
        client.evalsha(sha1, numKeys, ...args).finally(() => new Promise((resolve) => setTimeout(resolve, 150))),
      eval: (script: string, numKeys: number, ...args: (string | number)[]) =>
        client.eval(script, numKeys, ...args).finally(() => new Promise((resolve) => setTimeout(resolve, 150))),
    };
    const store = redisStore(client, { prefix: 'late-recovery:' });
    const slow = redisStore(slowClient, { prefix: 'late-recovery:', operationTimeoutMs: 50 });
    const now = Date.now();
    const first = await store.claim(claimOf('k', now));
    if (first.status !== 'claimed') throw new Error('not claimed');
    expect(await store.markUnknown({ key: 'k', token: first.token, retentionMs: 60_000, now })).toBe(true);
    expect(isStoreUnavailableError(await slow.claim(claimOf('k', now, { recover: true })).catch((error: unknown) => error))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // The first run may have taken effect: the key must not have become free.
    expect((await store.claim(claimOf('k', now))).status).toBe('unknown');
    const recovering = await store.claim(claimOf('k', now, { recover: true }));
    expect(recovering.status === 'claimed' && recovering.rerun).toBe('recovery');
  });

  it('runs and replays with a lease, a retention and a margin that are not whole milliseconds', async () => {
    // Redis's PEXPIRE takes whole milliseconds only; the options take any positive number.
    let ran = 0;
    const mw = idempotency({ store: redisStore(client, { prefix: 'fraction:', expiryMarginMs: 0.5 }), leaseMs: 100 / 3, ttl: 86_400_000 / 7 });
    const server = await startServer(mw.handler(async (_req, res) => {
      ran++;
      // Longer than the lease: the claim is renewed while the handler runs.
      await new Promise((resolve) => setTimeout(resolve, 120));
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      const first = await post(`${server.url}/orders`, { key: 'k', body: {} });
      const again = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect({ first: first.status, again: again.status, replayed: again.headers.get('idempotent-replayed'), ran }).toEqual({
        first: 201,
        again: 201,
        replayed: 'true',
        ran: 1,
      });
      expect(mw.stats().totals.storeErrors).toBe(0);
    } finally {
      await server.close();
      await mw.close();
    }
  });

  it('keeps a record for a retention longer than Redis can count in milliseconds, rather than failing every claim', async () => {
    const store = redisStore(client, { prefix: 'long-ttl:' });
    const now = Date.now();
    const claim = await store.claim(claimOf('k', now, { retentionMs: 1e21 }));
    if (claim.status !== 'claimed') throw new Error(`not claimed: ${claim.status}`);
    expect(await store.complete({ key: 'k', token: claim.token, fingerprint: 'fp', response: okBody, retentionMs: 1e21, now })).toBe(true);
    expect((await store.claim(claimOf('k', now))).status).toBe('completed');
    expect(await client.pttl('long-ttl:k')).toBeGreaterThan(1e15);
  });

  describe('an eviction policy', () => {
    afterEach(async () => {
      vi.restoreAllMocks();
      await client.config('SET', 'maxmemory', '0');
      await client.config('SET', 'maxmemory-policy', 'noeviction');
    });
    const evictionWarnings = (warn: { mock: { calls: unknown[][] } }): unknown[] =>
      warn.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === 'SUBMIT_ONCE_REDIS_EVICTION').map(([message]) => message);
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

    it('that lets Redis drop a completed record makes the retry run the handler again', async () => {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      let ran = 0;
      vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const mw = idempotency({ store: redisStore(client, { prefix: 'evicted:' }) });
      const server = await startServer(mw.handler((_req, res) => {
        ran++;
        res.statusCode = 201;
        res.end('created');
      }));
      try {
        expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
        // Memory over its limit: Redis evicts keys (all of them here) before the next write.
        await client.config('SET', 'maxmemory', '1');
        await client.set('evicted-filler', 'x').catch(() => undefined);
        await client.config('SET', 'maxmemory', '0');
        expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
        expect(ran).toBe(2);
      } finally {
        await server.close();
        await mw.close();
      }
    });

    it('noeviction keeps every record, even past maxmemory: the retry is replayed', async () => {
      let ran = 0;
      const mw = idempotency({ store: redisStore(client, { prefix: 'full:' }) });
      const server = await startServer(mw.handler((_req, res) => {
        ran++;
        res.end('ran');
      }));
      try {
        // Over its limit, Redis still runs a script's writes once its first write (the
        // claim's DEL) went through, so claims and completions are not refused.
        await client.config('SET', 'maxmemory', '1');
        const first = await post(`${server.url}/orders`, { key: 'k', body: {} });
        await client.set('full-filler', 'x').catch(() => undefined);
        const retry = await post(`${server.url}/orders`, { key: 'k', body: {} });
        expect({ first: first.status, retry: retry.status, replayed: retry.headers.get('idempotent-replayed'), ran }).toEqual({
          first: 200,
          retry: 200,
          replayed: 'true',
          ran: 1,
        });
      } finally {
        await server.close();
        await mw.close();
      }
    });

    it('noeviction past maxmemory still renews a running lease: a recovering retry does not run alongside', async () => {
      let runs = 0;
      let finish: () => void = () => undefined;
      const slow = new Promise<void>((resolve) => (finish = resolve));
      const mw = idempotency({ store: redisStore(client, { prefix: 'full-renew:' }), leaseMs: 100, recovery: true });
      const server = await startServer(mw.handler(async (_req, res) => {
        // Only the first run waits; a second would answer at once.
        if (++runs === 1) await slow;
        res.end('ran');
      }));
      try {
        const first = post(`${server.url}/slow`, { key: 'k', body: {} });
        first.catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 30));
        // Memory over its limit while the handler runs, past several renewals and the lease.
        await client.config('SET', 'maxmemory', '1');
        await new Promise((resolve) => setTimeout(resolve, 300));
        const retry = await post(`${server.url}/slow`, { key: 'k', body: {} });
        finish();
        expect({ retry: retry.status, runs }).toEqual({ retry: 409, runs: 1 });
        expect((await first).status).toBe(200);
      } finally {
        finish();
        await server.close();
        await mw.close();
      }
    });

    it('is warned about once, from INFO (CONFIG is often disabled on managed Redis)', async () => {
      await client.config('SET', 'maxmemory-policy', 'volatile-lru');
      const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const store = redisStore(client, { prefix: 'evict-warn:' });
      await store.claim(claimOf('a', Date.now()));
      await store.claim(claimOf('b', Date.now()));
      await settle();
      const messages = evictionWarnings(warn);
      expect(messages).toHaveLength(1);
      expect(String(messages[0])).toContain('volatile-lru');
    });

    it('is not warned about under noeviction, nor when INFO is refused', async () => {
      const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      await redisStore(client, { prefix: 'evict-none:' }).claim(claimOf('a', Date.now()));
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const noInfo = {
        evalsha: (sha1: string, numKeys: number, ...args: (string | number)[]) => client.evalsha(sha1, numKeys, ...args),
        eval: (script: string, numKeys: number, ...args: (string | number)[]) =>
          script.includes("'INFO'") ? Promise.reject(new Error('ERR unknown command INFO')) : client.eval(script, numKeys, ...args),
      };
      const claim = await redisStore(noInfo, { prefix: 'evict-noinfo:' }).claim(claimOf('a', Date.now()));
      expect(claim.status).toBe('claimed');
      await settle();
      expect(evictionWarnings(warn)).toEqual([]);
    });
  });

  it('stores a completion whose call failed before reaching Redis (a blip), once Redis answers: the retry is replayed, not outcome-unknown', async () => {
    // The call carrying the completion fails without running, as a command sent while the
    // connection is down does with enableOfflineQueue: false.
    let failCompletion = true;
    const blip = {
      evalsha: (sha1: string, numKeys: number, ...args: (string | number)[]) => {
        if (failCompletion && String(args[args.length - 1]).startsWith('d')) {
          failCompletion = false;
          return Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
        }
        return client.evalsha(sha1, numKeys, ...args);
      },
      eval: (script: string, numKeys: number, ...args: (string | number)[]) => client.eval(script, numKeys, ...args),
    };
    let ran = 0;
    const mw = idempotency({ store: redisStore(blip, { prefix: 'blip:' }), leaseMs: 100 });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
      // Past the lease the claim would run out, left running.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const retry = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect({ retry: retry.status, replayed: retry.headers.get('idempotent-replayed'), ran }).toEqual({ retry: 201, replayed: 'true', ran: 1 });
    } finally {
      await server.close();
      await mw.close();
    }
  });

  it('stores a completion whose call Redis never answered (timed out), once Redis answers: the retry is replayed, not outcome-unknown', async () => {
    // The first call carrying a completion is swallowed (a connection gone silent): it
    // neither runs nor fails, so only its deadline ends it.
    let swallow = true;
    const silent = {
      evalsha: (sha1: string, numKeys: number, ...args: (string | number)[]) => {
        if (swallow && String(args[args.length - 1]).startsWith('d')) {
          swallow = false;
          return new Promise<unknown>(() => undefined);
        }
        return client.evalsha(sha1, numKeys, ...args);
      },
      eval: (script: string, numKeys: number, ...args: (string | number)[]) => client.eval(script, numKeys, ...args),
    };
    let ran = 0;
    const mw = idempotency({ store: redisStore(silent, { prefix: 'silent-complete:', operationTimeoutMs: 100 }), leaseMs: 100 });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
      // Past the lease the claim would run out, left running.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const retry = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect({ retry: retry.status, replayed: retry.headers.get('idempotent-replayed'), ran }).toEqual({ retry: 201, replayed: 'true', ran: 1 });
    } finally {
      await server.close();
      await mw.close();
    }
  });

  it('frees a late claim even when the call carrying its free is never answered: the retry runs the handler once', async () => {
    // The claim's reply comes after its 503; the first free sent for it is swallowed.
    let lateClaim = true;
    let swallowFree = true;
    const flaky = {
      evalsha: (sha1: string, numKeys: number, ...args: (string | number)[]) => {
        const packed = String(args[args.length - 1]);
        if (swallowFree && packed.startsWith('f')) {
          swallowFree = false;
          return new Promise<unknown>(() => undefined);
        }
        const reply = client.evalsha(sha1, numKeys, ...args);
        if (!(lateClaim && packed.startsWith('c'))) return reply;
        lateClaim = false;
        return reply.finally(() => new Promise((resolve) => setTimeout(resolve, 150)));
      },
      eval: (script: string, numKeys: number, ...args: (string | number)[]) => client.eval(script, numKeys, ...args),
    };
    let ran = 0;
    const mw = idempotency({ store: redisStore(flaky, { prefix: 'late-free:', operationTimeoutMs: 50 }), leaseMs: 200 });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('created');
    }));
    try {
      expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(503);
      // Past the late reply, the swallowed free's deadline and the lease the orphaned claim would hold.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const retry = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect({ retry: retry.status, ran }).toEqual({ retry: 201, ran: 1 });
    } finally {
      await server.close();
      await mw.close();
    }
  });

  it('keeps a key unknown when a recovering claim that took it over failed with its connection', async () => {
    // The script runs in Redis; its reply is lost with the connection, once.
    let lose = true;
    const lossy = {
      evalsha: async (sha1: string, numKeys: number, ...args: (string | number)[]) => {
        const reply = await client.evalsha(sha1, numKeys, ...args);
        if (!lose) return reply;
        lose = false;
        throw new Error('Connection is closed.');
      },
      eval: (script: string, numKeys: number, ...args: (string | number)[]) => client.eval(script, numKeys, ...args),
    };
    const store = redisStore(client, { prefix: 'lost-recovery:' });
    const now = Date.now();
    const first = await store.claim(claimOf('k', now));
    if (first.status !== 'claimed') throw new Error('not claimed');
    expect(await store.markUnknown({ key: 'k', token: first.token, retentionMs: 60_000, now })).toBe(true);
    await store.claim(claimOf('warm', now));
    const failed = await redisStore(lossy, { prefix: 'lost-recovery:' }).claim(claimOf('k', now, { recover: true })).catch((error: unknown) => error);
    expect(isStoreUnavailableError(failed)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await store.claim(claimOf('k', now))).status).toBe('unknown');
    const recovering = await store.claim(claimOf('k', now, { recover: true }));
    expect(recovering.status === 'claimed' && [recovering.rerun, recovering.executions]).toEqual(['recovery', 3]);
  });

  it("stores large responses that arrive together, each within Redis's bulk limit but not all of them in one call", async () => {
    // 1 MB is the least proto-max-bulk-len Redis takes; 512 MB, its default, is met the
    // same way by 256 completions of a 2 MB response.
    await client.config('SET', 'proto-max-bulk-len', '1mb');
    let ran = 0;
    const mw = idempotency({ store: redisStore(client, { prefix: 'large:' }) });
    const body = Buffer.alloc(300_000, 'x');
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end(body);
    }));
    try {
      const keys = ['a', 'b', 'c', 'd'];
      const firsts = await Promise.all(keys.map((key) => post(`${server.url}/files`, { key, body: {} })));
      const replays = await Promise.all(keys.map((key) => post(`${server.url}/files`, { key, body: {} })));
      expect(firsts.map((a) => a.status)).toEqual([201, 201, 201, 201]);
      expect(replays.map((a) => [a.status, a.headers.get('idempotent-replayed'), a.bytes.length])).toEqual(keys.map(() => [201, 'true', 300_000]));
      expect(ran).toBe(4);
    } finally {
      await client.config('SET', 'proto-max-bulk-len', '512mb');
      await server.close();
      await mw.close();
    }
  });

  it('fails closed with 503 on a replica (READONLY, as a client left on a demoted master after a failover), never running the handler', async () => {
    const replicaProcess = await startRedis();
    const replica = new Redis(replicaProcess.url, { maxRetriesPerRequest: 0 });
    let ran = 0;
    const mw = idempotency({ store: redisStore(replica, { prefix: 'replica:' }) });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.end('ran');
    }));
    try {
      await replica.replicaof('127.0.0.1', redis.port);
      const answer = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect({ status: answer.status, problem: answer.json().type, ran }).toEqual({ status: 503, problem: 'https://submit-once.dev/problems/store-unavailable', ran: 0 });
    } finally {
      await server.close();
      await mw.close();
      replica.disconnect();
      await replicaProcess.stop();
    }
  });

  it('fails closed with 503 and Retry-After when Redis is unreachable, never running the handler', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    let ran = 0;
    const mw = idempotency({ store: redisStore(dead, { operationTimeoutMs: 500 }) });
    const server = await startServer(mw.handler((_req, res) => {
      ran++;
      res.end('ran');
    }));
    try {
      const answer = await post(`${server.url}/orders`, { key: 'k', body: {} });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(answer.json().type).toBe('https://submit-once.dev/problems/store-unavailable');
      expect(ran).toBe(0);
      expect(mw.stats().totals.storeErrors).toBe(1);
    } finally {
      await server.close();
      dead.disconnect();
    }
  });
});

describe('a Redis cluster client', () => {
  it('gets one key per command: a script may only touch keys of one slot there', async () => {
    const keyCounts: number[] = [];
    const cluster = {
      isCluster: true,
      eval: async (_script: string, numKeys: number) => {
        // The store's INFO check (no keys), made on the first claim.
        if (numKeys === 0) return '';
        keyCounts.push(numKeys);
        return [['claimed', '1.x', '1', 'none']];
      },
    };
    const store = redisStore(cluster);
    const claims = await Promise.all(['a', 'b', 'c'].map((key) => store.claim(claimOf(key, Date.now()))));
    expect(claims.map((c) => c.status)).toEqual(['claimed', 'claimed', 'claimed']);
    expect(keyCounts).toEqual([1, 1, 1]);
  });
});

describe.skipIf(!available)('a Redis cluster client, sweeping and clearing', () => {
  let nodes: RedisProcess[] = [];
  let clients: Redis[] = [];
  beforeAll(async () => {
    nodes = await Promise.all([startRedis(), startRedis()]);
    clients = nodes.map((node) => new Redis(node.url));
  });
  afterAll(async () => {
    for (const c of clients) await c.quit();
    for (const node of nodes) await node.stop();
  });

  it("clears every master's records, not only those of the node a SCAN happened to reach", async () => {
    // Two masters, each key on one of them (by its last character here); like ioredis's
    // Cluster, a command without a key (SCAN) goes to some node: the first, here.
    const nodeOf = (key: string): Redis => clients[key.charCodeAt(key.length - 1) % 2]!;
    const cluster = {
      isCluster: true,
      eval: (script: string, numKeys: number, ...args: (string | number)[]) =>
        numKeys === 0 ? clients[0]!.eval(script, 0, ...args) : nodeOf(String(args[0])).eval(script, numKeys, ...args),
      scan: (cursor: string | number, match: 'MATCH', pattern: string, count: 'COUNT', n: number) => clients[0]!.scan(cursor, match, pattern, count, n),
      nodes: () => clients,
    };
    const store = redisStore(cluster, { prefix: 'cluster:' });
    const now = Date.now();
    for (const key of ['a', 'b', 'c', 'd']) expect((await store.claim(claimOf(key, now))).status).toBe('claimed');
    expect(await clients[0]!.dbsize()).toBe(2);
    expect(await clients[1]!.dbsize()).toBe(2);
    await store.clear();
    expect([await clients[0]!.dbsize(), await clients[1]!.dbsize()]).toEqual([0, 0]);
  });
});

describe('a Redis that does not answer', () => {
  it('fails each command with StoreUnavailableError after operationTimeoutMs, the later ones after the earlier', async () => {
    const calls: number[] = [];
    const hung = { eval: () => new Promise<unknown>(() => undefined), evalsha: () => new Promise<unknown>(() => undefined) };
    const store = redisStore(hung, { operationTimeoutMs: 80 });
    const started = performance.now();
    const first = store.claim(claimOf('a', Date.now())).catch((error: unknown) => {
      calls.push(performance.now() - started);
      return error;
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    const second = store.claim(claimOf('b', Date.now())).catch((error: unknown) => {
      calls.push(performance.now() - started);
      return error;
    });
    const errors = await Promise.all([first, second]);
    for (const error of errors) expect(isStoreUnavailableError(error)).toBe(true);
    // Each waited its own full timeout: the second one was not failed together with the first.
    expect(calls[0]).toBeGreaterThanOrEqual(79);
    expect(calls[1]).toBeGreaterThanOrEqual(119);
  });
});
