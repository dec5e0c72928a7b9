import { describe, expect, it } from 'vitest';
import { idempotency, InvalidOptionsError, postgresStore } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { within } from '../helpers/within.js';
import { sleep } from '../helpers/clock.js';

const available = postgresAvailable();

describe.skipIf(!available)('postgres store, records past their retention', () => {
  const db = postgresPerSuite();

  const rows = async (table: string): Promise<number> => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);

  async function completeKeys(table: string, sweepIntervalMs?: number): Promise<void> {
    const store = postgresStore(db.pool, sweepIntervalMs === undefined ? { table } : { table, sweepIntervalMs });
    const mw = idempotency({ store, ttl: 1_000 });
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
    await sleep(1_400);
    expect(await rows('swept_keys')).toBe(0);
  });

  it('keeps them with sweepIntervalMs 0 (sweep() is then the application\'s), and refuses a bad interval', async () => {
    await completeKeys('kept_keys', 0);
    await sleep(1_400);
    expect(await rows('kept_keys')).toBe(5);
    for (const bad of [-1, Number.NaN, 2 ** 31]) expect(() => postgresStore(db.pool, { sweepIntervalMs: bad })).toThrow(InvalidOptionsError);
  });

  it('a sweep does not wait on a running transactional claim of an expired key, nor hold up claims of the keys it deletes', async () => {
    const table = 'sweep_locked_keys';
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let claimedIt!: () => void;
    const claimed = new Promise<void>((resolve) => {
      claimedIt = resolve;
    });
    const tx = postgresStore(db.pool, { table, transactional: true, sweepIntervalMs: 0 });
    const plain = postgresStore(db.pool, { table, sweepIntervalMs: 0 });
    const txMw = idempotency({ store: tx, ttl: 200 });
    const plainMw = idempotency({ store: plain, ttl: 200 });
    const txHttp = await startServer(tx.scope(txMw.handler(async (req, res) => {
      if (req.headers['x-hold'] !== undefined) {
        claimedIt();
        await held;
      }
      res.end('tx');
    })));
    const plainHttp = await startServer(plainMw.handler((_req, res) => res.end('plain')));
    db.cleanup.push(async () => {
      release();
      await txHttp.close();
      await plainHttp.close();
      await txMw.close();
      await plainMw.close();
      await tx.close();
      await plain.close();
    });
    for (const key of ['held', 'other']) expect((await post(`${plainHttp.url}/orders`, { key, body: {} })).status).toBe(200);
    await sleep(300);
    // Both records are past their retention. A transactional run takes one over and holds it.
    const running = post(`${txHttp.url}/orders`, { key: 'held', body: {}, headers: { 'x-hold': '1' } });
    await claimed;
    const sweep = plain.sweep(Date.now()).then((n) => n, (error: unknown) => error);
    await sleep(100);
    // The other expired key is free to claim again, at once.
    const other = await within(1_000, post(`${plainHttp.url}/orders`, { key: 'other', body: {} }));
    expect(other === 'no answer' ? other : other.status).toBe(200);
    expect(await sweep).toBe(1);
    release();
    expect((await running).status).toBe(200);
  });
});
