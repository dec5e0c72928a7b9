import { describe, expect, it } from 'vitest';
import { idempotency, postgresStore, type IdempotencyEvent, type PgPoolLike } from '../../src/server/index.js';
import { claimOf } from './conformance.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

// A keys table made by an older version of the store (25f0008, before the fencing and
// execution-count columns) failed every claim with StoreUnavailableError('column
// "executions" ... does not exist'): every guarded request 503, for good, and nothing
// saying the table was the problem or what to do.

const OLD_SHAPE = `(
  key text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('in-progress', 'completed')),
  fingerprint text NOT NULL, token text, ends_at bigint NOT NULL,
  status integer, headers jsonb, body bytea, omitted integer)`;

describe.skipIf(!postgresAvailable())('postgres store on a table made by an older version', () => {
  const db = postgresPerSuite();

  it('refuses it with an InvalidOptionsError for `table` naming the missing columns and what to do', async () => {
    await db.pool.query(`CREATE TABLE old_keys ${OLD_SHAPE}`);
    const store = postgresStore(db.pool, { table: 'old_keys', sweepIntervalMs: 0 });
    db.cleanup.push(() => store.close());
    for (const transactional of [false, true]) {
      const tx = postgresStore(db.pool, { table: 'old_keys', sweepIntervalMs: 0, transactional });
      db.cleanup.push(() => tx.close());
      const error = await tx.scope(() => tx.claim(claimOf('k', Date.now())))().catch((caught: unknown) => caught);
      expect(error, `transactional: ${transactional}`).toMatchObject({ name: 'InvalidOptionsError', code: 'invalid-options', option: 'table' });
      const { message } = error as Error;
      expect(message).toContain('executions, rerun, lease_ends, retention_ms');
      expect(message).toContain('DROP TABLE "old_keys"');
    }
    await expect(store.sweep(Date.now())).rejects.toMatchObject({ option: 'table' });

    // Dropped, the store makes it anew on its next call: no restart needed.
    await db.pool.query('DROP TABLE old_keys');
    expect((await store.claim(claimOf('k', Date.now()))).status).toBe('claimed');
  });

  it('a schema-qualified name is looked up in that schema', async () => {
    await db.pool.query(`CREATE SCHEMA app; CREATE TABLE app.keys ${OLD_SHAPE}; CREATE TABLE public.keys (key text)`);
    const old = postgresStore(db.pool, { table: 'app.keys', sweepIntervalMs: 0 });
    db.cleanup.push(() => old.close());
    await expect(old.claim(claimOf('k', Date.now()))).rejects.toMatchObject({ option: 'table', message: expect.stringContaining('DROP TABLE "app"."keys"') });
    await db.pool.query('DROP TABLE app.keys; DROP TABLE public.keys');
    expect((await old.claim(claimOf('k', Date.now()))).status).toBe('claimed');
  });

  it('the middleware answers 503 with the error in its store-error event; the handler does not run', async () => {
    await db.pool.query(`CREATE TABLE old_mw_keys ${OLD_SHAPE}`);
    const events: IdempotencyEvent[] = [];
    let ran = 0;
    const mw = idempotency({ store: postgresStore(db.pool, { table: 'old_mw_keys', sweepIntervalMs: 0 }), onEvent: (event) => events.push(event) });
    const server = await startServer(
      mw.handler((_req, res) => {
        ran++;
        res.end('ok');
      }),
    );
    db.cleanup.push(async () => {
      await server.close();
      await mw.close();
    });
    expect((await post(`${server.url}/orders`, { key: 'k', body: {} })).status).toBe(503);
    expect(ran).toBe(0);
    const failed = events.find((event) => event.type === 'store-error');
    expect(failed).toMatchObject({ error: { name: 'InvalidOptionsError', option: 'table' } });
  });

  it('a table of the current shape is checked once per store, not per call', async () => {
    const texts: string[] = [];
    const pool: PgPoolLike = db.pool;
    const counting: PgPoolLike = {
      query: <Row,>(text: string, values?: unknown[]) => {
        texts.push(text);
        return pool.query<Row>(text, values);
      },
      connect: () => db.pool.connect(),
    };
    const store = postgresStore(counting, { table: 'current_keys', sweepIntervalMs: 0 });
    db.cleanup.push(() => store.close());
    for (let i = 0; i < 3; i++) expect((await store.claim(claimOf(`k${i}`, Date.now()))).status).toBe('claimed');
    expect(texts.filter((text) => text.includes('pg_attribute'))).toHaveLength(1);
    expect(texts.filter((text) => text.includes('CREATE TABLE'))).toHaveLength(1);
  });
});
