import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { idempotency, postgresStore, type PostgresStore } from '../../src/server/index.js';
import { hasPostgres, startPostgres, type PostgresProcess } from '../support/postgres-process.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';

const available = hasPostgres();
if (!available && process.env.CI !== undefined) {
  throw new Error('PostgreSQL (initdb, postgres) is not installed, and CI is set: the Postgres store must be tested in CI.');
}

const fixture = fileURLToPath(new URL('./fixtures/orders-on-postgres.ts', import.meta.url));

describe.skipIf(!available)('postgres store, transactional mode', () => {
  let server: PostgresProcess;
  let pool: pg.Pool;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 20 });
    pool.on('error', () => undefined);
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await pool.query('DROP TABLE IF EXISTS orders');
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  const orderRows = async (): Promise<number> => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM orders')).rows[0]?.n);

  /** An orders API in this process whose handler writes through the claim's transaction. */
  async function inProcess(behaviour: (store: PostgresStore, n: number) => Promise<void>): Promise<{ url: string; store: PostgresStore }> {
    await pool.query('CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, item text)');
    const store = postgresStore(pool, { transactional: true, table: 'tx_keys' });
    await store.clear().catch(() => undefined);
    let n = 0;
    const mw = idempotency({ store, leaseMs: 3_000 });
    const http: ListeningServer = await startServer(
      store.scope(mw.handler(async (_req, res) => {
        await store.client().query("INSERT INTO orders (item) VALUES ('tea')");
        await behaviour(store, ++n);
        res.statusCode = 201;
        res.end(`order ${n}`);
      })),
    );
    cleanup.push(async () => {
      await http.close();
      await store.close();
    });
    return { url: `${http.url}/orders`, store };
  }

  it("rolls back the handler's writes with the claim when it throws, so the retry runs cleanly", async () => {
    const { url } = await inProcess(async (_store, n) => {
      if (n === 1) throw new Error('boom after writing');
    });
    expect((await post(url, { key: 'k', body: { item: 'tea' } })).status).toBe(500);
    expect(await orderRows()).toBe(0);
    const retry = await post(url, { key: 'k', body: { item: 'tea' } });
    expect(retry.status).toBe(201);
    expect(retry.text).toBe('order 2');
    expect(await orderRows()).toBe(1);
    const replay = await post(url, { key: 'k', body: { item: 'tea' } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe('order 2');
    expect(await orderRows()).toBe(1);
  });

  it('never sends the success answer when the commit fails: the order is rolled back, the client is told to retry, the retry runs once', async () => {
    // A deferred unique constraint is checked at COMMIT: the first run's second insert makes the commit fail.
    await pool.query('DROP TABLE IF EXISTS audit_marks');
    await pool.query('CREATE TABLE audit_marks (mark int, CONSTRAINT one_mark UNIQUE (mark) DEFERRABLE INITIALLY DEFERRED)');
    cleanup.push(async () => void (await pool.query('DROP TABLE IF EXISTS audit_marks')));
    const { url } = await inProcess(async (store, n) => {
      await store.client().query('INSERT INTO audit_marks (mark) VALUES ($1)', [n]);
      if (n === 1) await store.client().query('INSERT INTO audit_marks (mark) VALUES (1)');
    });
    const first = await post(url, { key: 'commit-fails', body: { item: 'tea' } });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(first.text).not.toContain('order 1');
    expect(await orderRows()).toBe(0);
    const retry = await post(url, { key: 'commit-fails', body: { item: 'tea' } });
    expect([retry.status, retry.text]).toEqual([201, 'order 2']);
    expect(await orderRows()).toBe(1);
  });

  it('commits the order and the stored response together: neither is visible before the commit', async () => {
    let seenInside: number | undefined;
    let keysInside: number | undefined;
    const { url } = await inProcess(async () => {
      // Another connection sees neither the order nor the claim while the handler runs.
      seenInside = await orderRows();
      keysInside = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM tx_keys')).rows[0]?.n);
    });
    expect((await post(url, { key: 'k2', body: { item: 'tea' } })).status).toBe(201);
    expect(seenInside).toBe(0);
    expect(keysInside).toBe(0);
    expect(await orderRows()).toBe(1);
    const keys = await pool.query<{ state: string }>('SELECT state FROM tx_keys');
    expect(keys.rows.map((r) => r.state)).toEqual(['completed']);
  });

  it('makes a concurrent duplicate wait for the running one and replay its answer', async () => {
    const { url } = await inProcess(() => sleep(300));
    const [a, b] = await Promise.all([post(url, { key: 'dup', body: { item: 'tea' } }), post(url, { key: 'dup', body: { item: 'tea' } })]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.text).toBe(b.text);
    expect([a, b].filter((x) => x.headers.get('idempotent-replayed') === 'true')).toHaveLength(1);
    expect(await orderRows()).toBe(1);
  });

  it('refuses to run outside store.scope (503, the handler never runs) and store.client() outside a claim', async () => {
    const store = postgresStore(pool, { transactional: true, table: 'tx_keys' });
    let ran = 0;
    const mw = idempotency({ store });
    const http = await startServer(mw.handler((_req, res) => {
      ran++;
      res.end();
    }));
    cleanup.push(() => http.close());
    expect((await post(`${http.url}/orders`, { key: 'k', body: {} })).status).toBe(503);
    expect(ran).toBe(0);
    expect(() => store.client()).toThrow(/no claim transaction/);
  });

  describe('kill -9 of the server in the middle of a handler writing an order', () => {
    async function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
        env: { ...process.env, DATABASE_URL: server.url, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines: string[] = [];
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
      cleanup.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await new Promise((resolve) => child.once('exit', resolve));
        }
      });
      await waitFor(() => lines.some((l) => l.startsWith('listening ')), 15_000);
      const port = lines.find((l) => l.startsWith('listening '))?.split(' ')[1];
      return { child, url: `http://127.0.0.1:${port}/orders`, lines };
    }

    async function crashMidHandler(transactional: '0' | '1'): Promise<void> {
      await pool.query('CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, item text)');
      const doomed = await start({ TRANSACTIONAL: transactional, CRASH: '1' });
      const attempt = post(doomed.url, { key: 'order-1', body: { item: 'tea' } }).catch((error: unknown) => error);
      await waitFor(() => doomed.lines.includes('in-handler'), 10_000);
      doomed.child.kill('SIGKILL');
      await new Promise((resolve) => doomed.child.once('exit', resolve));
      expect(await attempt).toBeInstanceOf(Error);
    }

    it('leaves no order after the crash; the retry with the same key runs cleanly once, then replays: one order row', async () => {
      await crashMidHandler('1');
      // The kill dropped the connection; Postgres rolled back the claim and the order together.
      await waitFor(async () => (await orderRows()) === 0 && (await activeTransactions()) === 0, 5_000);
      expect(await orderRows()).toBe(0);

      const restarted = await start({ TRANSACTIONAL: '1' });
      const retry = await post(restarted.url, { key: 'order-1', body: { item: 'tea' } });
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      const again = await post(restarted.url, { key: 'order-1', body: { item: 'tea' } });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(retry.text);
      expect(await orderRows()).toBe(1);
    });

    it('control: without the transactional mode the same crash leaves its order committed behind', async () => {
      await crashMidHandler('0');
      expect(await orderRows()).toBe(1);
    });

    async function activeTransactions(): Promise<number> {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
      );
      return Number(rows[0]?.n);
    }
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}
