import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotency, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, startPostgres, type PostgresProcess } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const available = postgresAvailable();

describe.skipIf(!available)("postgres store on a pool made as the README's example makes it (no 'error' listener)", () => {
  let server: PostgresProcess;
  let admin: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  it('a restart of Postgres (its idle connections ended) gives 503 and then recovers, instead of ending the process', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    // As in README's "Postgres store": `postgresStore(new pg.Pool({ connectionString }))`.
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    const store = postgresStore(pool, { table: 'idle_error_keys', closePool: true });
    const mw = idempotency({ store });
    const http = await startServer(mw.handler((_req, res) => {
      res.statusCode = 201;
      res.end('ok');
    }));
    try {
      expect((await post(`${http.url}/orders`, { key: 'a', body: {} })).status).toBe(201);
      // The pool's connection is idle now. A restart, failover or administrator ends it.
      const { rows } = await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> $1 AND datname = current_database()', [rows[0]?.pid]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(uncaught.map(String)).toEqual([]);
      expect((await post(`${http.url}/orders`, { key: 'b', body: {} })).status).toBe(201);
    } finally {
      process.off('uncaughtException', onUncaught);
      await http.close();
      await mw.close();
    }
  });
});
