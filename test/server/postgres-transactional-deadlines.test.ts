import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { idempotency, postgresStore, UncertainOutcomeError, type PostgresStore } from '../../src/server/index.js';
import { postgresAvailable, startPostgres, type PostgresProcess } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { within } from '../helpers/within.js';
import { sleep } from '../helpers/clock.js';

const available = postgresAvailable();

/**
 * A TCP proxy to Postgres whose links can go silent: nothing passes either way, and
 * neither side's close reaches the other, as with a half-open link or a stalled host.
 * `silenceOn(marker)` silences the next link whose client sends `marker` (that chunk still
 * reaches the database); `silenceAll()` every link, new ones included.
 */
async function silencingProxy(port: number): Promise<{ url: string; silenceOn(marker: string): void; silenceAll(): void; close(): Promise<void> }> {
  let marker: string | undefined;
  let all = false;
  const silent = new WeakSet<object>();
  const quiet = (link: object): boolean => all || silent.has(link);
  const proxy = await tcpProxy(port, {
    toUpstream: (chunk, link) => {
      if (quiet(link)) return false;
      if (marker !== undefined && chunk.includes(marker)) {
        // This chunk still reaches the database; nothing after it, either way.
        silent.add(link);
        marker = undefined;
      }
      return true;
    },
    toClient: (_chunk, link) => !quiet(link),
    passCloses: (link) => !quiet(link),
  });
  return {
    url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
    silenceOn: (text) => {
      marker = text;
    },
    silenceAll: () => {
      all = true;
    },
    close: proxy.close,
  };
}

describe.skipIf(!available)('postgres store, transactional mode, a database that stops answering', () => {
  let db: PostgresProcess;
  let direct: pg.Pool;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    db = await startPostgres();
    direct = new pg.Pool({ connectionString: db.url });
    direct.on('error', () => undefined);
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await direct?.end();
    await db?.stop();
  });

  /** An app on a transactional store over `pool`, counting its handler's runs. */
  async function app(pool: pg.Pool, table: string, leaseMs: number, handler?: (store: PostgresStore) => Promise<void>) {
    const store = postgresStore(pool, { transactional: true, table, operationTimeoutMs: 500 });
    const counts = { ran: 0 };
    const mw = idempotency({ store, leaseMs });
    const http = await startServer(
      store.scope(mw.handler(async (_req, res) => {
        counts.ran++;
        await handler?.(store);
        res.statusCode = 201;
        res.end(`run ${counts.ran}`);
      })),
    );
    cleanup.push(async () => {
      await http.close();
      await mw.close();
    });
    return { url: `${http.url}/orders`, counts };
  }

  /** A pool through a fresh proxy, closed after the test. */
  async function proxied(options: pg.PoolConfig = {}) {
    const proxy = await silencingProxy(db.port);
    const pool = new pg.Pool({ connectionString: proxy.url, max: 2, ...options });
    pool.on('error', () => undefined);
    cleanup.push(async () => {
      await proxy.close();
      await pool.end().catch(() => undefined);
    });
    return { proxy, pool };
  }

  it('a claim whose answer never comes: 503 within the lease plus operationTimeoutMs, the handler never runs, and Postgres rolls the claim back, so the retry runs once', async () => {
    const { proxy, pool } = await proxied();
    const { url, counts } = await app(pool, 'tx_silent_keys', 600);
    expect((await post(url, { key: 'warm', body: {} })).status).toBe(201);
    // The claim reaches the database and runs there; its answer, and anything we send
    // after it (the connection's close included), is lost on the way.
    proxy.silenceOn('INSERT INTO "tx_silent_keys"');
    const started = performance.now();
    const answer = await within(3_000, post(url, { key: 'k', body: {} }));
    expect(answer === 'no answer' ? 'no answer' : answer.status).toBe(503);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000); // it waited as for a row lock (lease 600 ms) first
    expect(counts.ran).toBe(1);
    // The claim ran at the server and its transaction is still open there: the late answer case.
    const abandoned = await direct.query<{ query: string }>("SELECT query FROM pg_stat_activity WHERE state = 'idle in transaction'");
    expect(abandoned.rows.map((r) => r.query.includes('INSERT INTO "tx_silent_keys"'))).toEqual([true]);
    // Nothing told Postgres: its idle-in-transaction timeout (three leases) ends the session
    // and rolls the claim back. Had the claim committed, the key would stay in flight (409), then unknown.
    let retry = await post(url, { key: 'k', body: {} });
    for (let i = 0; i < 50 && retry.status === 409; i++) {
      await sleep(100);
      retry = await post(url, { key: 'k', body: {} });
    }
    expect(retry.status).toBe(201);
    expect(counts.ran).toBe(2);
    const rows = await direct.query<{ executions: number; state: string }>('SELECT executions, state FROM tx_silent_keys ORDER BY key');
    expect(rows.rows.map((r) => `${r.state} ${r.executions}`)).toEqual(['completed 1', 'completed 1']);
  }, 20_000);

  it('an uncertain run whose connection goes silent while it is marked unknown: outcome-unknown, and the key stays unknown once Postgres rolls the abandoned transaction back', async () => {
    const { proxy, pool } = await proxied();
    const { url, counts } = await app(pool, 'tx_uncertain_keys', 600, async () => {
      if (counts.ran > 1) throw new UncertainOutcomeError('the payment provider did not answer');
    });
    expect((await post(url, { key: 'warm', body: {} })).status).toBe(201);
    // Marking it unknown starts by rolling the handler's writes back to the claim: that reaches
    // the database, and from then on the link is silent.
    proxy.silenceOn('ROLLBACK TO SAVEPOINT');
    const answer = await within(5_000, post(url, { key: 'k', body: {} }));
    expect(answer === 'no answer' ? 'no answer' : answer.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(counts.ran).toBe(2);
    // Postgres has ended the abandoned transaction (three leases): the key must not be free.
    await sleep(1_000);
    const retry = await post(url, { key: 'k', body: {} });
    expect(retry.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(counts.ran).toBe(2);
  }, 20_000);

  it('a connection checkout that never completes: 503 within operationTimeoutMs, the handler never runs', async () => {
    const { proxy, pool } = await proxied({ idleTimeoutMillis: 20 });
    const { url, counts } = await app(pool, 'tx_checkout_keys', 3_000);
    expect((await post(url, { key: 'warm', body: {} })).status).toBe(201);
    await sleep(100); // the idle connection is gone: the next request opens one
    proxy.silenceAll();
    const answer = await within(2_000, post(url, { key: 'k', body: {} }));
    expect(answer === 'no answer' ? 'no answer' : answer.status).toBe(503);
    expect(counts.ran).toBe(1);
  }, 20_000);

  it('a request that waits longer than operationTimeoutMs for a connection (the pool busy with running handlers) answers 503', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    pool.on('error', () => undefined);
    cleanup.push(() => pool.end());
    const { url, counts } = await app(pool, 'tx_busy_keys', 5_000, () => sleep(1_500));
    const first = post(url, { key: 'a', body: {} });
    await sleep(200);
    const second = await within(1_200, post(url, { key: 'b', body: {} }));
    expect(second === 'no answer' ? 'no answer' : second.status).toBe(503);
    expect((await first).status).toBe(201);
    expect(counts.ran).toBe(1);
  }, 20_000);

  it('a duplicate still waits on the row lock of a run longer than operationTimeoutMs (up to the lease) and replays its answer', async () => {
    const { url, counts } = await app(direct, 'tx_wait_keys', 5_000, () => sleep(1_200));
    const first = post(url, { key: 'k', body: {} });
    await sleep(100);
    const duplicate = await post(url, { key: 'k', body: {} });
    expect((await first).status).toBe(201);
    expect([duplicate.status, duplicate.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(counts.ran).toBe(1);
  }, 20_000);

  it('a COMMIT that hangs: 503 within operationTimeoutMs instead of waiting; it commits late, and the retry replays the committed answer (one run, one order)', async () => {
    // A deferred constraint trigger runs inside COMMIT: this one makes every COMMIT that
    // wrote an order take 3 s, as a stalled disk or a lock at commit would.
    await direct.query(`
      CREATE TABLE slow_orders (id serial PRIMARY KEY);
      CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON slow_orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();`);
    cleanup.push(async () => {
      await direct.query('DROP TABLE slow_orders; DROP FUNCTION slow_commit()');
    });
    const { url, counts } = await app(direct, 'tx_commit_keys', 8_000, async (store) => {
      await store.client().query('INSERT INTO slow_orders DEFAULT VALUES');
    });
    const answer = await within(2_000, post(url, { key: 'k', body: {} }));
    expect(answer === 'no answer' ? 'no answer' : answer.status).toBe(503);
    expect(counts.ran).toBe(1);
    // The COMMIT was sent: it may have committed. The key is not free meanwhile: the
    // retry waits on the row lock, then finds the completed record.
    const retry = await post(url, { key: 'k', body: {} });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(counts.ran).toBe(1);
    expect((await direct.query('SELECT id FROM slow_orders')).rowCount).toBe(1);
  }, 20_000);
});
