import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore, UncertainOutcomeError } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store, transactional mode, uncertain outcomes', () => {
  const db = postgresPerSuite();
  const { cleanup } = db;

  it('transactional: an uncertain run on a key whose old record has expired (not yet swept) leaves the key unknown, not free again', async () => {
    await db.pool.query('CREATE TABLE IF NOT EXISTS tx_orders (id serial PRIMARY KEY)');
    const store = postgresStore(db.pool, { transactional: true, table: 'tx_expired_keys', clock: 'caller' });
    await store.clear().catch(() => undefined);
    let clock = 1_000_000;
    let runs = 0;
    const mw = idempotency({ store, ttl: 1_000, leaseMs: 3_000, now: () => clock });
    const http = await startServer(
      store.scope(mw.handler(async (_req, res) => {
        runs++;
        await store.client().query('INSERT INTO tx_orders DEFAULT VALUES');
        // The second run charged a card, say, and cannot tell whether the charge went through.
        if (runs === 2) throw new UncertainOutcomeError('the payment provider did not answer');
        res.statusCode = 201;
        res.end(`run ${runs}`);
      })),
    );
    cleanup.push(async () => {
      await http.close();
      await store.close();
      await db.pool.query('DROP TABLE IF EXISTS tx_orders');
    });
    const url = `${http.url}/orders`;
    expect((await post(url, { key: 'k', body: { a: 1 } })).status).toBe(201);
    // Past the key's retention: its row is still in the table (nothing swept it), and a new claim takes it over.
    clock += 2_000;
    const uncertain = await post(url, { key: 'k', body: { a: 1 } });
    expect(uncertain.status).toBe(500);
    expect(uncertain.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(runs).toBe(2);
    // The run said its effect may have happened: the retry must not run it again.
    const retry = await post(url, { key: 'k', body: { a: 1 } });
    expect(runs).toBe(2);
    expect(retry.status).toBe(500);
    expect(retry.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
  });

  it('transactional: a duplicate waiting on the row lock of an uncertain run does not run the handler again once that run rolls back', async () => {
    await db.pool.query('CREATE TABLE IF NOT EXISTS tx_orders (id serial PRIMARY KEY)');
    const store = postgresStore(db.pool, { transactional: true, table: 'tx_waiting_keys' });
    await store.clear().catch(() => undefined);
    let runs = 0;
    let duplicateSent!: () => void;
    const duplicateWaits = new Promise<void>((resolve) => {
      duplicateSent = resolve;
    });
    const mw = idempotency({ store, leaseMs: 5_000 });
    const http = await startServer(
      store.scope(mw.handler(async (_req, res) => {
        runs++;
        await store.client().query('INSERT INTO tx_orders DEFAULT VALUES');
        if (runs === 1) {
          // The duplicate is now waiting on this claim's row lock (lock_timeout = the lease).
          await duplicateWaits;
          await new Promise((resolve) => setTimeout(resolve, 300));
          throw new UncertainOutcomeError('the payment provider did not answer');
        }
        res.statusCode = 201;
        res.end(`run ${runs}`);
      })),
    );
    cleanup.push(async () => {
      await http.close();
      await store.close();
      await db.pool.query('DROP TABLE IF EXISTS tx_orders');
    });
    const url = `${http.url}/orders`;
    const first = post(url, { key: 'k', body: { a: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const duplicate = post(url, { key: 'k', body: { a: 1 } });
    duplicateSent();
    const [firstAnswer, duplicateAnswer] = await Promise.all([first, duplicate]);
    expect(firstAnswer.status).toBe(500);
    expect(runs).toBe(1);
    expect(duplicateAnswer.status).toBe(500);
    expect(duplicateAnswer.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
  });

  it('transactional: an uncertain run on an expired key whose connection died stays unknown, the expired record not brought back', async () => {
    const store = postgresStore(db.pool, { transactional: true, table: 'tx_lost_keys', clock: 'caller' });
    await store.clear().catch(() => undefined);
    let clock = 1_000_000;
    let runs = 0;
    const mw = idempotency({ store, ttl: 1_000, leaseMs: 5_000, now: () => clock });
    const http = await startServer(
      store.scope(mw.handler(async (_req, res) => {
        runs++;
        if (runs === 2) {
          // The claim's connection dies (a failover, the idle timeout) while the run waits on
          // a payment provider, which then does not answer either.
          const pid = (await store.client().query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
          await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
          throw new UncertainOutcomeError('the payment provider did not answer');
        }
        res.statusCode = 201;
        res.end(`run ${runs}`);
      })),
    );
    cleanup.push(async () => {
      await http.close();
      await store.close();
    });
    const url = `${http.url}/orders`;
    expect((await post(url, { key: 'k', body: { a: 1 } })).status).toBe(201);
    // Past the key's retention, its row not yet swept: the next claim takes it over.
    clock += 2_000;
    const uncertain = await post(url, { key: 'k', body: { a: 1 } });
    expect(uncertain.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(runs).toBe(2);
    // The charge may have gone through: the retry must not run it again.
    const retry = await post(url, { key: 'k', body: { a: 1 } });
    expect(retry.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(runs).toBe(2);
  });
});
