/**
 * Transactional Postgres: the handler's rows and the stored answer commit together. A cut
 * of its connection while it runs (the server's socket timeout, say) must not end that
 * transaction under it: rolled back and its connection given back to the pool, the
 * handler's next statements on the client it holds ran outside any transaction, committed
 * on their own (a torn write), while the key said outcome-unknown.
 */
import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const available = postgresAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('postgres store, transactional mode, a cut while the handler runs', () => {
  const db = postgresPerSuite();
  const { cleanup } = db;

  it("the server's socket timeout mid-handler: its rows commit together or not at all", async () => {
    await db.pool.query('CREATE TABLE IF NOT EXISTS cut_orders (id serial PRIMARY KEY)');
    await db.pool.query('CREATE TABLE IF NOT EXISTS cut_order_lines (id serial PRIMARY KEY)');
    const store = postgresStore(db.pool, { transactional: true, table: 'cut_keys' });
    await store.clear().catch(() => undefined);
    let runs = 0;
    const mw = idempotency({ store, leaseMs: 5_000 });
    const http = await startServer(
      store.scope(
        mw.handler(async (req, res) => {
          runs++;
          const client = store.client();
          await client.query('INSERT INTO cut_orders DEFAULT VALUES');
          // A slow step (a payment call): the server's socket timeout cuts the connection meanwhile.
          req.socket.setTimeout(30);
          await sleep(300);
          await client.query('INSERT INTO cut_order_lines DEFAULT VALUES');
          res.statusCode = 201;
          res.end('order 1');
        }),
      ),
    );
    cleanup.push(async () => {
      await http.close();
      await store.close();
      await db.pool.query('DROP TABLE IF EXISTS cut_orders, cut_order_lines');
    });
    const url = `${http.url}/orders`;
    await post(url, { key: 'k', body: {} }).catch(() => undefined);
    await sleep(600);
    const counts = async () => {
      const orders = Number((await db.pool.query('SELECT count(*) AS n FROM cut_orders')).rows[0].n);
      const lines = Number((await db.pool.query('SELECT count(*) AS n FROM cut_order_lines')).rows[0].n);
      return { orders, lines };
    };
    const after = await counts();
    expect(after.orders).toBe(after.lines);
    const retry = await post(url, { key: 'k', body: {} });
    expect(runs).toBe(1);
    // Committed: the retry gets the answer stored with the rows.
    expect([retry.status, retry.text, await counts()]).toEqual([201, 'order 1', { orders: 1, lines: 1 }]);
  });
});
