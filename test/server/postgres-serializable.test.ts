import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore, type PostgresStore } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';

const available = postgresAvailable();

/**
 * A database whose default isolation is SERIALIZABLE (`ALTER DATABASE ... SET
 * default_transaction_isolation`, as some teams run): a statement that waited on a row
 * another transaction then updated fails with 40001 instead of seeing the new row.
 */
describe.skipIf(!available)('postgres store on a database whose transactions default to SERIALIZABLE', () => {
  const db = postgresPerSuite();

  function serializablePool(): pg.Pool {
    const pool = new pg.Pool({ ...(db.pool as unknown as { options: pg.PoolConfig }).options, max: 20, options: '-c default_transaction_isolation=serializable' });
    pool.on('error', () => undefined);
    db.cleanup.push(() => pool.end());
    return pool;
  }

  async function orders(store: PostgresStore, pause: number, failFirst = false) {
    let runs = 0;
    const mw = idempotency({ store, leaseMs: 5_000 });
    const listener = mw.handler(async (_req, res) => {
      const n = ++runs;
      if (store.transactional) await store.client().query('SELECT 1');
      if (failFirst && n === 1) throw new Error('no effect yet: the key is released');
      await sleep(pause);
      res.statusCode = 201;
      res.end(`order ${n}`);
    });
    const http = await startServer(store.transactional ? store.scope(listener) : listener);
    db.cleanup.push(async () => {
      await http.close();
      await mw.close();
      await store.close();
    });
    return { url: `${http.url}/orders`, runs: () => runs };
  }

  it('runs one of 20 concurrent retries of a released key and answers the others 409 or the replay, never 503', async () => {
    const pool = serializablePool();
    expect((await pool.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows[0]?.transaction_isolation).toBe('serializable');
    const rig = await orders(postgresStore(pool, { table: 'ser_keys' }), 50, true);
    expect((await post(rig.url, { key: 'k', body: { item: 'tea' } })).status).toBe(500);
    // The key's row exists (released): the retries' claims all conflict on it, one updates it.
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(rig.url, { key: 'k', body: { item: 'tea' } })));
    expect(rig.runs()).toBe(2);
    expect(answers.map((a) => a.status).filter((s) => s !== 201 && s !== 409)).toEqual([]);
  });

  it("stores the completion of a run whose lease renewal committed while the completion waited on the row", async () => {
    const pool = serializablePool();
    const store = postgresStore(pool, { table: 'ser_renew_keys' });
    db.cleanup.push(() => store.close());
    const now = Date.now();
    const claim = await store.claim({ key: 'k', fingerprint: 'fp', leaseMs: 5_000, retentionMs: 60_000, now, recover: false });
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    // A renewal of the holder's lease, in flight: its row lock taken, not yet committed.
    const renewal = await pool.connect();
    try {
      await renewal.query('BEGIN');
      await renewal.query('UPDATE ser_renew_keys SET lease_ends = lease_ends + 1, ends_at = ends_at + 1 WHERE key = $1', ['k']);
      const completing = store.complete({ key: 'k', token: claim.token, fingerprint: 'fp', response: { status: 201, headers: {}, body: new Uint8Array([1]) }, retentionMs: 60_000, now });
      await sleep(100);
      await renewal.query('COMMIT');
      expect(await completing).toBe(true);
    } finally {
      renewal.release();
    }
    expect((await store.claim({ key: 'k', fingerprint: 'fp', leaseMs: 5_000, retentionMs: 60_000, now, recover: false })).status).toBe('completed');
  });

  it('transactional: a duplicate waiting on the row lock gets the replay once the first commits, not 503', async () => {
    const pool = serializablePool();
    const rig = await orders(postgresStore(pool, { table: 'ser_tx_keys', transactional: true }), 300);
    const [a, b] = await Promise.all([post(rig.url, { key: 'dup', body: { item: 'tea' } }), post(rig.url, { key: 'dup', body: { item: 'tea' } })]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.text).toBe(b.text);
    expect(rig.runs()).toBe(1);
  });
});
