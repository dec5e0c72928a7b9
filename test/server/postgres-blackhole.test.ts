import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { idempotency, postgresStore, type PostgresStore } from '../../src/server/index.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { within } from '../helpers/within.js';
import { hasPostgres, startPostgres } from '../support/postgres-process.js';

/** A "database" that accepts connections and never says a word (a stalled server, a half-open link). */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `postgres://postgres@127.0.0.1:${(server.address() as AddressInfo).port}/postgres`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('postgres store, a database that never answers', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  for (const transactional of [false, true]) {
    it(`answers 503 within a few seconds${transactional ? ' (transactional)' : ''}, never running the handler`, async () => {
      const hole = await blackHole();
      const pool = new pg.Pool({ connectionString: hole.url });
      pool.on('error', () => undefined);
      const store: PostgresStore = postgresStore(pool, { transactional });
      let ran = 0;
      const mw = idempotency({ store });
      const app = mw.handler((_req, res) => {
        ran++;
        res.end('ran');
      });
      const http = await startServer(transactional ? store.scope(app) : app);
      cleanup.push(async () => {
        await http.close();
        await hole.close();
        await pool.end().catch(() => undefined);
      });
      const answer = await within(6_000, post(`${http.url}/orders`, { key: 'k', body: {} }));
      expect(answer === 'no answer' ? 'no answer' : answer.status).toBe(503);
      expect(ran).toBe(0);
    }, 15_000);
  }

  /** A TCP proxy to a real Postgres that can stop passing bytes, as a stalled server or a half-open link does. */
  async function freezingProxy(port: number): Promise<{ url: string; freeze(): void; close(): Promise<void> }> {
    let frozen = false;
    const proxy = await tcpProxy(port, { toUpstream: () => !frozen, toClient: () => !frozen });
    return {
      url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
      freeze: () => {
        frozen = true;
      },
      close: proxy.close,
    };
  }

  for (const transactional of [false, true]) {
    it.skipIf(!hasPostgres())(`answers 503 within a few seconds when a working database stalls${transactional ? ' (transactional)' : ''}`, async () => {
      const db = await startPostgres();
      const proxy = await freezingProxy(db.port);
      const pool = new pg.Pool({ connectionString: proxy.url, max: 2 });
      pool.on('error', () => undefined);
      const store: PostgresStore = postgresStore(pool, { transactional, table: 'stall_keys' });
      let ran = 0;
      const mw = idempotency({ store });
      const app = mw.handler((_req, res) => {
        ran++;
        res.statusCode = 201;
        res.end('ran');
      });
      const http = await startServer(transactional ? store.scope(app) : app);
      cleanup.push(async () => {
        await http.close();
        await proxy.close();
        await pool.end().catch(() => undefined);
        await db.stop();
      });
      expect((await post(`${http.url}/orders`, { key: 'warm', body: {} })).status).toBe(201);
      proxy.freeze();
      const answer = await within(6_000, post(`${http.url}/orders`, { key: 'k', body: {} }));
      expect(answer === 'no answer' ? 'no answer' : answer.status).toBe(503);
      expect(ran).toBe(1);
    }, 30_000);
  }
});
