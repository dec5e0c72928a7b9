import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotency, postgresStore } from '../../src/server/index.js';
import { openStoreSpec } from '../../src/server/store-spec.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { hasPostgres, startPostgres, type PostgresProcess } from '../support/postgres-process.js';
import { claimOf, runConformance } from './conformance.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const available = hasPostgres();
if (!available && process.env.CI !== undefined) {
  throw new Error('PostgreSQL (initdb, postgres) is not installed, and CI is set: the Postgres store must be tested in CI.');
}
if (!available) console.warn('\n[submit-once] PostgreSQL not found: SKIPPING the Postgres store suite.\n');

describe.skipIf(!available)('postgres store', () => {
  let server: PostgresProcess;
  let pool: pg.Pool;
  let counter = 0;
  const tables = new WeakMap<IdempotencyStore, string>();

  beforeAll(async () => {
    server = await startPostgres();
    pool = quiet(new pg.Pool({ connectionString: server.url, max: 20 }));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  // The conformance suite drives time by hand, through the middleware's `now`.
  const open = (table: string): IdempotencyStore => {
    const store = postgresStore(pool, { table, clock: 'caller' });
    tables.set(store, table);
    return store;
  };

  runConformance({
    name: 'postgres',
    create: async () => open(`keys_${++counter}`),
    reopen: async (store) => {
      await store.close();
      const table = tables.get(store);
      if (table === undefined) throw new Error('unknown store');
      // A new store on a new pool: only what the database holds carries over, as after a restart.
      const fresh = quiet(new pg.Pool({ connectionString: server.url, max: 5 }));
      const reopened = postgresStore(fresh, { table, closePool: true, clock: 'caller' });
      tables.set(reopened, table);
      return reopened;
    },
  });

  it('keeps one record per key in its table, the storage key as primary key', async () => {
    const store = open('keys_shape');
    const now = Date.now();
    const claim = await store.claim(claimOf('k', now, { leaseMs: 1_000 }));
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    await store.complete({ key: 'k', token: claim.token, fingerprint: 'fp', response: { status: 201, headers: { location: '/x' }, body: new Uint8Array([1, 2]) }, retentionMs: 60_000, now });
    const rows = await pool.query<{ key: string; state: string; status: number; body: Buffer }>('SELECT key, state, status, body FROM keys_shape');
    expect(rows.rows).toEqual([{ key: 'k', state: 'completed', status: 201, body: Buffer.from([1, 2]) }]);
    const constraint = await pool.query("SELECT 1 FROM pg_indexes WHERE tablename = 'keys_shape' AND indexdef LIKE '%UNIQUE%(key)%'");
    expect(constraint.rowCount).toBe(1);
  });

  it('gives exactly one of 40 claims on 40 separate connections the key', async () => {
    // Each claim on its own pool: no two share a connection, as with many server instances.
    const pools = Array.from({ length: 40 }, () => quiet(new pg.Pool({ connectionString: server.url, max: 1 })));
    try {
      const stores = pools.map((p) => postgresStore(p, { table: 'keys_race' }));
      await stores[0]?.clear();
      const now = Date.now();
      const results = await Promise.all(stores.map((s) => s.claim(claimOf('one', now, { leaseMs: 5_000 }))));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'in-progress')).toHaveLength(39);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('fails closed with 503 when Postgres is unreachable, never running the handler', async () => {
    const dead = quiet(new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', connectionTimeoutMillis: 500 }));
    let ran = 0;
    const mw = idempotency({ store: postgresStore(dead, { closePool: true }) });
    const http = await startServer(mw.handler((_req, res) => {
      ran++;
      res.end('ran');
    }));
    try {
      const answer = await post(`${http.url}/orders`, { key: 'k', body: {} });
      expect(answer.status).toBe(503);
      expect(answer.json().type).toBe('https://submit-once.dev/problems/store-unavailable');
      expect(ran).toBe(0);
    } finally {
      await http.close();
      await mw.close();
    }
  });

  it('opens from the CLI spec postgres:URL and refuses bad table names', async () => {
    const store = await openStoreSpec(`postgres:${server.url}`);
    try {
      expect(store.name).toBe('postgres');
      expect((await store.claim(claimOf('spec', Date.now(), { leaseMs: 1_000 }))).status).toBe('claimed');
    } finally {
      await store.close();
    }
    expect(() => postgresStore(pool, { table: 'x; DROP TABLE y' })).toThrow(/invalid table name/);
  });
});

/** An idle connection the server closes (at shutdown) is an 'error' on its pool: not a test failure. */
function quiet(pool: pg.Pool): pg.Pool {
  pool.on('error', () => undefined);
  return pool;
}
