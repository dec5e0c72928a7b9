import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore, UncertainOutcomeError, type PostgresStore } from '../../src/server/index.js';
import { claimOf } from './conformance.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

// With clock: 'caller', a buggy clock (`() => new Date(bad).getTime()` is NaN) reached the
// SQL as 'NaN'::bigint: a StoreUnavailableError with Postgres's raw message, and in the
// transactional mode a markUnknown that failed that way rolled the claim back, freeing a
// key whose effect may have happened for the next claim on a good clock.

const response = { status: 201, headers: {}, body: new Uint8Array(Buffer.from('created')) };
const BAD_NOWS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

describe.skipIf(!postgresAvailable())("postgres store, clock: 'caller' and a now that is not a finite number", () => {
  const db = postgresPerSuite();
  let tables = 0;

  const open = (options: { transactional?: boolean; clock?: 'store' | 'caller' } = {}): PostgresStore => {
    const store = postgresStore(db.pool, { table: `nan_keys_${tables++}`, clock: 'caller', sweepIntervalMs: 0, ...options });
    db.cleanup.push(() => store.close());
    return store;
  };

  it("every step refuses it with the middleware's invalid-options error for `now`; no key is freed", async () => {
    for (const bad of BAD_NOWS) {
      const store = open();
      const now = Date.now();
      const done = await store.claim(claimOf('done', now));
      if (done.status !== 'claimed') throw new Error('not claimed');
      expect(await store.complete({ key: 'done', token: done.token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
      const running = await store.claim(claimOf('running', now));
      if (running.status !== 'claimed') throw new Error('not claimed');
      const refused = { name: 'InvalidOptionsError', code: 'invalid-options', option: 'now' };

      await expect(store.claim(claimOf('done', bad)), `claim, now ${bad}`).rejects.toMatchObject(refused);
      await expect(store.renew({ key: 'running', token: running.token, leaseMs: 5_000, now: bad })).rejects.toMatchObject(refused);
      await expect(store.complete({ key: 'running', token: running.token, fingerprint: 'fp', response, retentionMs: 60_000, now: bad })).rejects.toMatchObject(refused);
      await expect(store.release({ key: 'running', token: running.token, retentionMs: 60_000, now: bad })).rejects.toMatchObject(refused);
      await expect(store.markUnknown({ key: 'running', token: running.token, retentionMs: 60_000, now: bad })).rejects.toMatchObject(refused);
      await expect(store.sweep(bad)).rejects.toMatchObject(refused);
      expect((await store.claim(claimOf('done', now))).status, `now ${bad}`).toBe('completed');
      expect((await store.claim(claimOf('running', now))).status, `now ${bad}`).toBe('in-progress');
    }
  });

  it("clock: 'store' reads the database's clock and ignores it", async () => {
    const store = open({ clock: 'store' });
    expect((await store.claim(claimOf('k', Number.NaN))).status).toBe('claimed');
  });

  it('the middleware answers 503 and does not run the handler again', async () => {
    let clock = Date.now();
    let ran = 0;
    const mw = idempotency({ store: open(), now: () => clock });
    const server = await startServer(
      mw.handler((_req, res) => {
        ran++;
        res.statusCode = 201;
        res.end('created');
      }),
    );
    db.cleanup.push(async () => {
      await server.close();
      await mw.close();
    });
    expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(201);
    clock = Number.NaN;
    const refused = await post(`${server.url}/orders`, { key: 'k', body: {} });
    expect(refused.status).toBe(503);
    expect((await post(`${server.url}/orders`, { key: 'fresh', body: {} })).status).toBe(503);
    expect(ran).toBe(1);
    clock = Date.now();
    const replay = await post(`${server.url}/orders`, { key: 'k', body: {} });
    expect([replay.status, replay.text, ran]).toEqual([201, 'created', 1]);
  });

  it('transactional: a claim at a bad now is refused before a connection is taken', async () => {
    const store = open({ transactional: true });
    const error = await store.scope(() => store.claim(claimOf('k', Number.NaN)))().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'InvalidOptionsError', option: 'now' });
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
  });

  it('transactional: a handler whose outcome is unknown, its clock gone bad by then, does not run again on a good clock', async () => {
    let clock = Date.now();
    let ran = 0;
    const store = open({ transactional: true });
    const mw = idempotency({ store, now: () => clock });
    const server = await startServer(
      store.scope(
        mw.handler(async () => {
          ran++;
          clock = Number.NaN;
          throw new UncertainOutcomeError('the payment provider hung up');
        }),
      ),
    );
    db.cleanup.push(async () => {
      await server.close();
      await mw.close();
    });
    expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(500);
    // The settle runs after the answer: wait until its connection is back in the pool.
    for (let i = 0; i < 100 && db.pool.totalCount - db.pool.idleCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(db.pool.totalCount - db.pool.idleCount, 'the claim transaction left open').toBe(0);
    clock = Date.now();
    const retry = await post(`${server.url}/orders`, { key: 'k', body: {} });
    expect([retry.status, ran]).toEqual([409, 1]);
  });

  it('transactional: a completion at a bad now is refused and rolls the claim back, nothing committed', async () => {
    const store = open({ transactional: true });
    const now = Date.now();
    await store.scope(async () => {
      const claim = await store.claim(claimOf('k', now));
      if (claim.status !== 'claimed') throw new Error('not claimed');
      const error = await store.complete({ key: 'k', token: claim.token, fingerprint: 'fp', response, retentionMs: 60_000, now: Number.NaN }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ name: 'InvalidOptionsError', option: 'now' });
    })();
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
    expect((await store.scope(() => store.claim(claimOf('k', now)))()).status).toBe('claimed');
  });
});
