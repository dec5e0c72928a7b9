import { describe, expect, it } from 'vitest';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createVerifier,
  fileStore,
  idempotency,
  InvalidOptionsError,
  isInvalidOptionsError,
  memoryStore,
  postgresStore,
  redisStore,
  type PgPoolLike,
} from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();

/** What `fn` throws, or a failure if it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectInvalid(fn: () => unknown, option: string): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect(isInvalidOptionsError(error)).toBe(true);
  // The client's guard knows it too, and code that caught the RangeError still does.
  expect(isSubmitOnceError(error, 'invalid-options')).toBe(true);
  expect(error).toBeInstanceOf(RangeError);
  expect(error).toMatchObject({ name: 'InvalidOptionsError', code: 'invalid-options', option });
}

const pool = { query: async () => ({ rows: [], rowCount: 0 }), connect: async () => ({}) } as unknown as PgPoolLike;

describe('server options are refused with a typed InvalidOptionsError when the middleware or store is made', () => {
  it('a duration that is not a positive number (was a bare RangeError)', () => {
    expectInvalid(() => idempotency({ leaseMs: 0 }), 'leaseMs');
    expectInvalid(() => idempotency({ ttl: Number.NaN }), 'ttl');
    expectInvalid(() => createVerifier({ maxRunMs: -5 }), 'maxRunMs');
    expectInvalid(() => createVerifier({ upstream: 'http://127.0.0.1:1', upstreamConnectTimeoutMs: 0 }), 'upstreamConnectTimeoutMs');
  });

  it('a list given as one string (methods: a TypeError from .map; replayHeaders: spread into letters)', () => {
    expectInvalid(() => idempotency({ methods: 'POST' as unknown as string[] }), 'methods');
    expectInvalid(() => idempotency({ replayHeaders: 'x-request-id' as unknown as string[] }), 'replayHeaders');
    expectInvalid(() => idempotency({ principalCookies: 'session' as unknown as string[] }), 'principalCookies');
  });

  it('a header that no request can carry (was taken, and every keyed request then answered 400)', () => {
    expectInvalid(() => idempotency({ header: '' }), 'header');
    expectInvalid(() => idempotency({ header: 'Idempotency Key' }), 'header');
  });

  it('a statsPath that no request path equals (no leading slash: the audit was never served)', () => {
    expectInvalid(() => idempotency({ statsPath: '__stats' }), 'statsPath');
  });

  it('a Postgres table name that is not an identifier (was a TypeError)', () => {
    expectInvalid(() => postgresStore(pool, { table: 'orders; drop table x' }), 'table');
  });

  it("a store's timings and sizes (a timeout of 0 cannot be met; a sweep of Infinity or past 2^31-1 ms fired every millisecond)", () => {
    const client = { eval: async () => null };
    expectInvalid(() => redisStore(client, { operationTimeoutMs: 0 }), 'operationTimeoutMs');
    expectInvalid(() => redisStore(client, { expiryMarginMs: Number.NaN }), 'expiryMarginMs');
    // No prefix: clear() deleted every key of the Redis database, the app's own included.
    expectInvalid(() => redisStore(client, { prefix: '' }), 'prefix');
    expectInvalid(() => redisStore(client, { prefix: 7 as unknown as string }), 'prefix');
    expectInvalid(() => postgresStore(pool, { operationTimeoutMs: -1 }), 'operationTimeoutMs');
    expectInvalid(() => memoryStore({ sweepIntervalMs: Infinity }), 'sweepIntervalMs');
    expectInvalid(() => memoryStore({ sweepIntervalMs: -1 }), 'sweepIntervalMs');
    const dir = mkdtempSync(join(tmpdir(), 'invalid-options-'));
    try {
      expectInvalid(() => fileStore(join(dir, 'a.log'), { sweepIntervalMs: 2 ** 31 }), 'sweepIntervalMs');
      expectInvalid(() => fileStore(join(dir, 'b.log'), { preallocateBytes: Number.NaN }), 'preallocateBytes');
      expectInvalid(() => fileStore(join(dir, 'c.log'), { compactAfterLines: 0 }), 'compactAfterLines');
      // Refused before the file was opened: no lock of this process is left on it.
      void fileStore(join(dir, 'a.log'), { sweepIntervalMs: 0 }).close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Redis client without eval (was accepted, and every claim then answered 503 as if Redis were down)', () => {
    expectInvalid(() => redisStore({} as never), 'client');
    expectInvalid(() => redisStore(undefined as never), 'client');
    expectInvalid(() => redisStore({ eval: async () => null, evalsha: 'sha' } as never), 'client');
  });

  it('control: a store with its timers off or at their largest is made', async () => {
    const stores = [memoryStore({ sweepIntervalMs: 0 }), memoryStore({ sweepIntervalMs: 2 ** 31 - 1 }), redisStore({ eval: async () => null }, { operationTimeoutMs: Infinity, expiryMarginMs: 0 })];
    for (const store of stores) await store.close();
  });

  it('issueToken without the tokens option', async () => {
    const middleware = idempotency({});
    await expect(middleware.issueToken({} as never)).rejects.toSatisfy(isInvalidOptionsError);
    middleware.close();
  });

  it('control: valid options still serve, with a custom header', async () => {
    const middleware = idempotency({ header: 'X-Request-Key', methods: ['post'], statsPath: '/__stats', replayHeaders: ['x-request-id'] });
    let runs = 0;
    const url = await serve(
      middleware.handler((_req, res) => {
        runs++;
        res.writeHead(201).end('ok');
      }),
    );
    const first = await post(`${url}/orders`, { body: {}, headers: { 'x-request-key': 'k1' } });
    const second = await post(`${url}/orders`, { body: {}, headers: { 'x-request-key': 'k1' } });
    expect([first.status, second.status, second.headers.get('idempotent-replayed'), runs]).toEqual([201, 201, 'true', 1]);
    await middleware.close();
  });
});
