import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { within } from '../helpers/within.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store, a hung database', () => {
  const db = postgresPerSuite();
  const { cleanup } = db;

  it('answers 503 within a few seconds when Postgres hangs (a lock nobody lets go), never running the handler', async () => {
    const store = postgresStore(db.pool, { table: 'hang_keys' });
    let ran = 0;
    const mw = idempotency({ store });
    const http = await startServer(mw.handler((_req, res) => {
      ran++;
      res.statusCode = 201;
      res.end('ran');
    }));
    // A migration (or any long transaction) holding the table: the database is up and
    // accepts connections, but the claim's statement waits for as long as the lock is held.
    await store.clear();
    const locker = await db.pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE hang_keys IN ACCESS EXCLUSIVE MODE');
    cleanup.push(async () => {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await http.close();
      await mw.close();
    });
    const answer = await within(6_000, post(`${http.url}/orders`, { key: 'hung', body: {} }));
    expect(answer === 'no answer' ? 'no answer' : answer.status).toBe(503);
    expect(ran).toBe(0);
    // The lock goes: the claim answered 503 takes the key after all, with nobody to run it.
    // Left alone it would answer the retry 409 for its lease, then outcome-unknown.
    await locker.query('ROLLBACK');
    for (let i = 0; i < 50; i++) {
      const row = await db.pool.query<{ state: string }>('SELECT state FROM hang_keys');
      if (row.rows[0]?.state === 'released') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const retry = await post(`${http.url}/orders`, { key: 'hung', body: {} });
    expect(retry.status).toBe(201);
    expect(ran).toBe(1);
  }, 15_000);

});
