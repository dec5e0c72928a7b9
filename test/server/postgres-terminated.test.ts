import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotency, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, startPostgres, type PostgresProcess } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store, transactional, the connection dropped while the handler works', () => {
  let server: PostgresProcess;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 5 });
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('does not crash the process with an unhandled client error; the request fails, the retry runs cleanly', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    // vitest reports an uncaught exception as an error of the run; count it here as well, to say what it was.
    process.on('uncaughtException', onUncaught);
    const store = postgresStore(pool, { transactional: true, table: 'terminated_keys' });
    let runs = 0;
    let terminated!: () => void;
    const backendGone = new Promise<void>((resolve) => {
      terminated = resolve;
    });
    // The backend is ended only once the handler waits: between the claim's statements the
    // connection is briefly idle in its transaction too, and ending it there (a busy
    // machine) failed the handler's own query, a 500, which is not what this test is about.
    let waiting!: () => void;
    const handlerWaits = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const mw = idempotency({ store });
    const http = await startServer(store.scope(mw.handler(async (_req, res) => {
      runs++;
      await store.client().query('SELECT 1');
      // Calling a payment provider, say: the claim's connection sits idle in its transaction.
      if (runs === 1) {
        waiting();
        await backendGone;
      }
      res.statusCode = 201;
      res.end(`run ${runs}`);
    })));
    try {
      const first = post(`${http.url}/orders`, { key: 'k', body: {} });
      await handlerWaits;
      for (let i = 0; i < 100; i++) {
        const idle = await pool.query("SELECT pid FROM pg_stat_activity WHERE state = 'idle in transaction'");
        if ((idle.rowCount ?? 0) > 0) {
          // An administrator, a failover or a restart ends the backend.
          await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction'");
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      terminated();
      const answer = await first;
      expect(uncaught.map(String)).toEqual([]);
      expect(answer.status).toBe(503);
      const retry = await post(`${http.url}/orders`, { key: 'k', body: {} });
      expect(retry.status).toBe(201);
    } finally {
      process.off('uncaughtException', onUncaught);
      await http.close();
      await store.close();
    }
  });
});
