import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store on connections with a statement_timeout shorter than the lease', () => {
  const db = postgresPerSuite();

  it("transactional: a duplicate waits on the running run's row lock for up to the lease, as without one, and replays its answer", async () => {
    const pool = new pg.Pool({ ...(db.pool as unknown as { options: pg.PoolConfig }).options, max: 10, statement_timeout: 300 });
    pool.on('error', () => undefined);
    db.cleanup.push(() => pool.end());
    const store = postgresStore(pool, { table: 'st_keys', transactional: true });
    let runs = 0;
    const mw = idempotency({ store, leaseMs: 3_000 });
    const http = await startServer(store.scope(mw.handler(async (_req, res) => {
      const n = ++runs;
      await store.client().query('SELECT 1');
      await sleep(800);
      res.statusCode = 201;
      res.end(`order ${n}`);
    })));
    db.cleanup.push(async () => {
      await http.close();
      await mw.close();
      await store.close();
    });
    const url = `${http.url}/orders`;
    const first = post(url, { key: 'k', body: {} });
    await sleep(200);
    const duplicate = await post(url, { key: 'k', body: {} });
    expect((await first).status).toBe(201);
    expect([duplicate.status, duplicate.text]).toEqual([201, 'order 1']);
    expect(runs).toBe(1);
  });

  it("transactional: the handler's own statements keep the connection's statement_timeout", async () => {
    const pool = new pg.Pool({ ...(db.pool as unknown as { options: pg.PoolConfig }).options, max: 2, statement_timeout: 300 });
    pool.on('error', () => undefined);
    db.cleanup.push(() => pool.end());
    const store = postgresStore(pool, { table: 'st_handler_keys', transactional: true });
    let seen: string | undefined;
    let slow: unknown;
    const mw = idempotency({ store });
    const http = await startServer(store.scope(mw.handler(async (_req, res) => {
      seen = (await store.client().query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout;
      slow = await store.client().query('SELECT pg_sleep(1)').then(() => 'finished', (error: { code?: string }) => error.code);
      res.statusCode = 201;
      res.end('done');
    })));
    db.cleanup.push(async () => {
      await http.close();
      await mw.close();
      await store.close();
    });
    await post(`${http.url}/orders`, { key: 'k', body: {} });
    expect(seen).toBe('300ms');
    expect(slow).toBe('57014');
  });
});
