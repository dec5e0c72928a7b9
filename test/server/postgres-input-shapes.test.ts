import { describe, expect, it } from 'vitest';
import { idempotency, InvalidOptionsError, postgresStore, type PostgresStoreOptions } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store, options and names the other stores take', () => {
  const db = postgresPerSuite();

  /** The middleware on a Postgres store, its handler counting runs at the origin. */
  async function orders(storeOptions: PostgresStoreOptions, options: { leaseMs?: number; ttl?: number; now?: () => number } = {}) {
    const store = postgresStore(db.pool, storeOptions);
    let runs = 0;
    const mw = idempotency({ ...options, store });
    const http = await startServer(mw.handler((_req, res) => {
      runs++;
      res.statusCode = 201;
      res.end(`order ${runs}`);
    }));
    db.cleanup.push(async () => {
      await http.close();
      await mw.close();
      await store.close();
    });
    return { url: `${http.url}/orders`, runs: () => runs };
  }

  async function runsOnceThenReplays(rig: { url: string; runs: () => number }): Promise<void> {
    const first = await post(rig.url, { key: 'k', body: { item: 'tea' } });
    expect(first.status).toBe(201);
    const again = await post(rig.url, { key: 'k', body: { item: 'tea' } });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(rig.runs()).toBe(1);
  }

  it('takes a lease and a ttl in fractions of a millisecond, as the options allow', async () => {
    await runsOnceThenReplays(await orders({ table: 'fraction_keys' }, { leaseMs: 10_000 / 3, ttl: 86_400_000 / 7 }));
  });

  it("takes a caller's clock in fractions of a millisecond (clock: 'caller')", async () => {
    await runsOnceThenReplays(await orders({ table: 'fraction_clock_keys', clock: 'caller' }, { now: () => performance.timeOrigin + performance.now() }));
  });

  it('takes a table named after an SQL keyword, bare or in a schema', async () => {
    await db.pool.query('CREATE SCHEMA IF NOT EXISTS shop');
    await runsOnceThenReplays(await orders({ table: 'order' }));
    await runsOnceThenReplays(await orders({ table: 'shop.user' }));
  });

  it('keeps using a table made under a mixed-case name (Postgres folds a bare name to lower case)', async () => {
    await runsOnceThenReplays(await orders({ table: 'Shop_Keys' }));
    const tables = await db.pool.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE tablename ILIKE 'shop_keys'");
    expect(tables.rows.map((r) => r.tablename)).toEqual(['shop_keys']);
  });

  it('refuses a table name Postgres would cut to 63 bytes, which two stores could share unknowingly', async () => {
    const long = `keys_${'x'.repeat(58)}`;
    expect(() => postgresStore(db.pool, { table: `${long}` })).not.toThrow();
    for (const table of [`${long}_app_a`, `shop.${long}_app_b`]) {
      expect(() => postgresStore(db.pool, { table })).toThrow(InvalidOptionsError);
    }
  });
});
