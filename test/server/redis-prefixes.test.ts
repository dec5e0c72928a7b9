import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { claimOf } from './conformance.js';
import { hasRedisServer, startRedis, type RedisProcess } from './redis-process.js';

const response = { status: 201, headers: {}, body: new Uint8Array(Buffer.from('created')) };

/** A completed record under `key`: its retry is replayed, and a second claim would be a second run. */
async function completed(store: IdempotencyStore, key: string, now: number): Promise<void> {
  const claim = await store.claim(claimOf(key, now));
  if (claim.status !== 'claimed') throw new Error(`${key}: not claimed`);
  expect(await store.complete({ key, token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
}

describe.skipIf(!hasRedisServer())('redis store: key prefixes', () => {
  let redis: RedisProcess;
  let plain: Redis;
  let prefixed: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    plain = new Redis(redis.url);
    prefixed = new Redis(redis.url, { keyPrefix: 'app:' });
  });
  afterAll(async () => {
    await Promise.all([plain?.quit(), prefixed?.quit()]);
    await redis?.stop();
  });

  // ioredis prefixes the keys of EVAL/EVALSHA but not SCAN's MATCH pattern, and SCAN
  // answers full key names: clear() and sweep() found nothing under `so:*`.
  it("sweep() and clear() on an ioredis client with keyPrefix remove this store's records, and only those", async () => {
    const store = redisStore(prefixed, { prefix: 'so:', clock: 'caller' });
    const sibling = redisStore(prefixed, { prefix: 'other:', clock: 'caller' });
    // Raw key `so:k`: the same store prefix without the client's keyPrefix.
    const unprefixed = redisStore(plain, { prefix: 'so:', clock: 'caller' });
    const now = Date.now();
    await completed(store, 'k', now);
    await completed(sibling, 'k', now);
    await completed(unprefixed, 'k', now);
    // Expired by `now`: one lease and one retention of 1 s, two minutes ago.
    await store.claim(claimOf('old', now - 120_000, { leaseMs: 1_000, retentionMs: 1_000 }));
    expect(await plain.exists('app:so:k', 'app:so:old')).toBe(2);

    expect(await store.sweep(now)).toBe(1);
    expect(await plain.exists('app:so:old')).toBe(0);
    expect((await store.claim(claimOf('k', now))).status).toBe('completed');

    await store.clear();
    expect(await plain.exists('app:so:k')).toBe(0);
    expect((await store.claim(claimOf('k', now))).status).toBe('claimed');
    expect((await sibling.claim(claimOf('k', now))).status).toBe('completed');
    expect((await unprefixed.claim(claimOf('k', now))).status).toBe('completed');
    // Nothing written under a doubled prefix (`app:app:so:…`) by the scan's names being prefixed again.
    expect(await plain.keys('app:app:*')).toEqual([]);

    // A sweep far ahead drops this store's live claim, not the others' records.
    expect(await store.sweep(now + 10 * 60_000)).toBe(1);
    expect((await sibling.claim(claimOf('k', now))).status).toBe('completed');
    expect((await unprefixed.claim(claimOf('k', now))).status).toBe('completed');
  });

  // Keys cannot tell which store wrote them: b's records are records under a's prefix.
  // The README says no store's prefix may start with another's on one Redis; this pins why.
  it("clear() of prefix 'app:' also deletes a store's records under 'app:v2:' (documented: no prefix may start with another's)", async () => {
    const a = redisStore(plain, { prefix: 'nest:' });
    const b = redisStore(plain, { prefix: 'nest:v2:' });
    const c = redisStore(plain, { prefix: 'nested:' });
    const now = Date.now();
    const key = JSON.stringify([null, 'POST', '/orders', 'k']);
    await completed(b, key, now);
    await completed(c, key, now);
    await a.clear();
    expect((await b.claim(claimOf(key, now))).status).toBe('claimed');
    // A prefix that merely shares characters ('nested:' after 'nest:'): not under it, kept.
    expect((await c.claim(claimOf(key, now))).status).toBe('completed');
  });
});
