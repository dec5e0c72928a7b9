import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dedupe, idempotency, isInvalidOptionsError, redisStore, type RedisStoreOptions } from '../../src/server/index.js';
import { claimOf } from './conformance.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';
import { hasRedisServer, startRedis, type RedisProcess } from './redis-process.js';

const available = hasRedisServer();
if (!available && process.env.CI !== undefined) {
  throw new Error('redis-server is not on PATH, and CI is set: the Redis store must be tested in CI.');
}

const LEASE_MS = 400;
/** How far the skewed server's clock is off: many leases. */
const SKEW_MS = 5_000;

/**
 * Two app servers sharing one Redis, one of them with a clock off by many leases: Redis's
 * own clock judges every lease and retention, so neither takes the other's running or
 * completed run for dead.
 */
describe.skipIf(!available)('redis store, app servers whose clocks disagree', () => {
  let redis: RedisProcess;
  let client: Redis;
  let counter = 0;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  /**
   * Two servers on one prefix, with one handler and its one count of runs (the origin's).
   * The first run waits for `finish`; later runs answer at once.
   */
  async function twoServers(skews: readonly [number, number], options: { recovery?: boolean; ttl?: number } = {}) {
    const prefix = `skew-${++counter}:`;
    let runs = 0;
    let finish: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (finish = resolve));
    cleanup.push(async () => finish());
    const urls = await Promise.all(
      skews.map(async (skew) => {
        const mw = idempotency({ store: redisStore(client, { prefix }), leaseMs: LEASE_MS, now: () => Date.now() + skew, ...options });
        const server = await startServer(mw.handler(async (_req, res) => {
          if (++runs === 1) await slow;
          res.statusCode = 201;
          res.end(`order ${runs}`);
        }));
        cleanup.push(async () => {
          await server.close();
          await mw.close();
        });
        return `${server.url}/orders`;
      }),
    );
    return { urls: urls as [string, string], runs: () => runs, finish };
  }

  it('a server whose clock runs ahead does not take a running, renewed run for dead and run it again (recovery)', async () => {
    const { urls, runs, finish } = await twoServers([0, SKEW_MS], { recovery: true });
    const first = post(urls[0], { key: 'k', body: {} });
    first.catch(() => undefined);
    // Past renewals and the lease: the first run is still going.
    await sleep(2.5 * LEASE_MS);
    const retry = await post(urls[1], { key: 'k', body: {} });
    finish();
    expect({ retry: retry.status, runs: runs() }).toEqual({ retry: 409, runs: 1 });
    expect((await first).status).toBe(201);
  });

  it('a run claimed by a server whose clock runs behind is not outcome-unknown to the others while it runs', async () => {
    const { urls, runs, finish } = await twoServers([-SKEW_MS, 0]);
    const first = post(urls[0], { key: 'k', body: {} });
    first.catch(() => undefined);
    await sleep(2.5 * LEASE_MS);
    const retry = await post(urls[1], { key: 'k', body: {} });
    finish();
    expect({ retry: retry.status, problem: retry.status === 409 ? undefined : retry.json().type, runs: runs() }).toEqual({
      retry: 409,
      problem: undefined,
      runs: 1,
    });
    expect((await first).status).toBe(201);
  });

  it('a server whose clock runs ahead by more than the retention replays a completed run, not runs it again', async () => {
    const { urls, runs, finish } = await twoServers([0, SKEW_MS], { ttl: 1_000 });
    finish();
    expect((await post(urls[0], { key: 'k', body: {} })).status).toBe(201);
    const retry = await post(urls[1], { key: 'k', body: {} });
    expect({ retry: retry.status, replayed: retry.headers.get('idempotent-replayed'), text: retry.text, runs: runs() }).toEqual({
      retry: 201,
      replayed: 'true',
      text: 'order 1',
      runs: 1,
    });
  });

  it('sweep() from a server whose clock runs ahead keeps records still live by Redis', async () => {
    const store = redisStore(client, { prefix: `sweep-${++counter}:` });
    const now = Date.now();
    const claim = await store.claim(claimOf('k', now, { leaseMs: 60_000, retentionMs: 60_000 }));
    expect(claim.status).toBe('claimed');
    expect(await store.sweep(now + 10 * 60_000)).toBe(0);
    expect((await store.claim(claimOf('k', now + 10 * 60_000, { recover: true }))).status).toBe('in-progress');
  });

  it("tells a dedupe consumer whose clock runs behind to wait about a lease, not the lease plus its clock's lag", async () => {
    const store = redisStore(client, { prefix: `dedupe-${++counter}:` });
    let finish: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (finish = resolve));
    cleanup.push(async () => finish());
    const running = dedupe('m-1', () => slow, { store, leaseMs: 1_000 });
    await sleep(50);
    const busy = await dedupe('m-1', () => undefined, { store, leaseMs: 1_000, now: () => Date.now() - 3_600_000 });
    finish();
    expect(busy.status).toBe('busy');
    if (busy.status === 'busy') expect(busy.retryAfterMs).toBeLessThanOrEqual(1_000);
    expect((await running).status).toBe('processed');
  });

  it("judges by the caller's clock with clock: 'caller' (tests that move time by hand)", async () => {
    const store = redisStore(client, { prefix: `caller-${++counter}:`, clock: 'caller' });
    const now = Date.now();
    expect((await store.claim(claimOf('k', now, { leaseMs: 1_000 }))).status).toBe('claimed');
    expect((await store.claim(claimOf('k', now + 500))).status).toBe('in-progress');
    expect((await store.claim(claimOf('k', now + 1_000))).status).toBe('unknown');
  });

  it.each([['bogus'], [''], [null], [1]])('refuses clock: %j with InvalidOptionsError', (clock) => {
    const error = (() => {
      try {
        redisStore(client, { clock } as unknown as RedisStoreOptions);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isInvalidOptionsError(error) && error.option).toBe('clock');
  });
});
