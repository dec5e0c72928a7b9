import { describe, expect, it } from 'vitest';
import { idempotency, InvalidOptionsError, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store, records past their retention', () => {
  const db = postgresPerSuite();

  const rows = async (table: string): Promise<number> => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);

  async function completeKeys(table: string, sweepIntervalMs?: number): Promise<void> {
    const store = postgresStore(db.pool, sweepIntervalMs === undefined ? { table } : { table, sweepIntervalMs });
    const mw = idempotency({ store, ttl: 200 });
    const http = await startServer(mw.handler((_req, res) => res.end('ok')));
    db.cleanup.push(async () => {
      await http.close();
      await mw.close();
      await store.close();
    });
    // Keys used once, as most are: no later claim of theirs takes the expired record over.
    for (let i = 0; i < 5; i++) expect((await post(`${http.url}/orders`, { key: `k-${i}`, body: {} })).status).toBe(200);
    expect(await rows(table)).toBe(5);
  }

  it('deletes them in the background, as "kept for ttl and then swept" says', async () => {
    await completeKeys('swept_keys', 100);
    await sleep(600);
    expect(await rows('swept_keys')).toBe(0);
  });

  it('keeps them with sweepIntervalMs 0 (sweep() is then the application\'s), and refuses a bad interval', async () => {
    await completeKeys('kept_keys', 0);
    await sleep(600);
    expect(await rows('kept_keys')).toBe(5);
    for (const bad of [-1, Number.NaN, 2 ** 31]) expect(() => postgresStore(db.pool, { sweepIntervalMs: bad })).toThrow(InvalidOptionsError);
  });
});
