import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { idempotency, InvalidOptionsError, postgresStore, type IdempotencyOptions, type PostgresStoreOptions } from '../../src/server/index.js';
import { postgresAvailable, postgresPerSuite } from '../support/postgres-process.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';

const available = postgresAvailable();

/** How far the second server's clock runs ahead: well over the lease. */
const SKEW_MS = 60_000;

describe.skipIf(!available)('postgres store, two servers whose clocks disagree', () => {
  const db = postgresPerSuite();

  /**
   * Two app servers on one table, the second's clock SKEW_MS ahead, one handler counting
   * runs at the origin; the first run waits until `finish` is called.
   */
  async function twoServers(table: string, options: Omit<IdempotencyOptions, 'store' | 'now'>, storeOptions: PostgresStoreOptions = {}) {
    let runs = 0;
    let finish!: () => void;
    const firstRunHeld = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let firstRunStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      firstRunStarted = resolve;
    });
    const handler = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const n = ++runs;
      if (n === 1) {
        firstRunStarted();
        await firstRunHeld;
      }
      res.statusCode = 201;
      res.end(`run ${n}`);
    };
    const servers = [];
    for (const now of [() => Date.now(), () => Date.now() + SKEW_MS]) {
      const store = postgresStore(db.pool, { table, ...storeOptions });
      const mw = idempotency({ ...options, store, now });
      const http = await startServer(mw.handler(handler));
      db.cleanup.push(async () => {
        await http.close();
        await mw.close();
        await store.close();
      });
      servers.push(`${http.url}/orders`);
    }
    const [slow, fast] = servers as [string, string];
    return { slow, fast, started, finish, runs: () => runs };
  }

  it('a server whose clock runs ahead by more than the lease does not run a key again beside its running first run (recovery on)', async () => {
    const rig = await twoServers('skew_recovery_keys', { leaseMs: 1_000, recovery: true });
    const first = post(rig.slow, { key: 'k', body: { item: 'tea' } });
    await rig.started;
    // The first run is alive, its lease renewed on its server's clock.
    await sleep(300);
    const duplicate = await post(rig.fast, { key: 'k', body: { item: 'tea' } });
    rig.finish();
    expect((await first).status).toBe(201);
    expect(rig.runs()).toBe(1);
    expect(duplicate.status).toBe(409);
    expect(duplicate.json().type).toBe('https://submit-once.dev/problems/request-in-progress');
  });

  it('a server whose clock runs ahead by more than the lease answers a running key in-progress, not outcome-unknown', async () => {
    const rig = await twoServers('skew_unknown_keys', { leaseMs: 1_000 });
    const first = post(rig.slow, { key: 'k', body: { item: 'tea' } });
    await rig.started;
    const duplicate = await post(rig.fast, { key: 'k', body: { item: 'tea' } });
    rig.finish();
    expect((await first).status).toBe(201);
    expect(duplicate.status).toBe(409);
    // Once done, both servers replay it.
    const replay = await post(rig.fast, { key: 'k', body: { item: 'tea' } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe('run 1');
    expect(rig.runs()).toBe(1);
  });

  it("an in-progress claim's lease end is on the asking server's own clock (a consumer's busy delay)", async () => {
    const store = postgresStore(db.pool, { table: 'skew_lease_keys' });
    db.cleanup.push(() => store.close());
    const claim = { key: 'k', fingerprint: 'fp', leaseMs: 4_000, retentionMs: 60_000, recover: false };
    expect((await store.claim({ ...claim, now: Date.now() })).status).toBe('claimed');
    const now = Date.now() + SKEW_MS;
    const busy = await store.claim({ ...claim, now });
    if (busy.status !== 'in-progress') throw new Error(`expected in-progress, got ${busy.status}`);
    expect(busy.leaseExpiresAt - now).toBeGreaterThan(3_000);
    expect(busy.leaseExpiresAt - now).toBeLessThanOrEqual(4_000);
  });

  it("judges retention, release, unknown and the sweep on the database's clock, whatever the caller's now says", async () => {
    const store = postgresStore(db.pool, { table: 'skew_state_keys' });
    db.cleanup.push(() => store.close());
    // Callers whose clocks are a day apart, either way.
    const day = 86_400_000;
    const at = (skew: number) => ({ leaseMs: 5_000, retentionMs: 400, recover: false, now: Date.now() + skew });
    const response = { status: 201, headers: {}, body: new Uint8Array([7]) };
    const done = await store.claim({ key: 'done', fingerprint: 'fp', ...at(-day) });
    const freed = await store.claim({ key: 'freed', fingerprint: 'fp', ...at(day) });
    const lost = await store.claim({ key: 'lost', fingerprint: 'fp', ...at(-day) });
    if (done.status !== 'claimed' || freed.status !== 'claimed' || lost.status !== 'claimed') throw new Error('expected three claims');
    expect(await store.complete({ key: 'done', token: done.token, fingerprint: 'fp', response, ...at(day) })).toBe(true);
    expect(await store.release({ key: 'freed', token: freed.token, ...at(-day) })).toBe(true);
    expect(await store.markUnknown({ key: 'lost', token: lost.token, ...at(day) })).toBe(true);
    expect(await store.renew({ key: 'lost', token: lost.token, ...at(day) })).toBe(false);
    // Within the 400 ms retention on the database's clock, asked from a day ahead.
    expect((await store.claim({ key: 'done', fingerprint: 'fp', ...at(day) })).status).toBe('completed');
    expect((await store.claim({ key: 'lost', fingerprint: 'fp', ...at(day) })).status).toBe('unknown');
    expect(await store.sweep(Date.now() + day)).toBe(0);
    await sleep(500);
    // Past it, asked from a day behind.
    expect(await store.sweep(Date.now() - day)).toBe(3);
    const again = await store.claim({ key: 'done', fingerprint: 'fp', ...at(-day) });
    expect(again).toMatchObject({ status: 'claimed', executions: 1, rerun: 'none' });
  });

  it('renews a lease on the database clock: a fast server still sees a renewed run as running', async () => {
    const store = postgresStore(db.pool, { table: 'skew_renew_keys' });
    db.cleanup.push(() => store.close());
    const claim = { key: 'k', fingerprint: 'fp', leaseMs: 600, retentionMs: 60_000, recover: true };
    const first = await store.claim({ ...claim, now: Date.now() });
    if (first.status !== 'claimed') throw new Error('expected a claim');
    await sleep(400);
    expect(await store.renew({ key: 'k', token: first.token, leaseMs: 600, now: Date.now() - SKEW_MS })).toBe(true);
    await sleep(400);
    // 800 ms after the claim, 400 after the renewal: running, as seen from a clock a minute ahead.
    expect((await store.claim({ ...claim, now: Date.now() + SKEW_MS })).status).toBe('in-progress');
  });

  it("refuses a clock option that is neither 'store' nor 'caller'", () => {
    expect(() => postgresStore(db.pool, { clock: 'database' as 'store' })).toThrow(InvalidOptionsError);
    expect(() => postgresStore(db.pool, { clock: 'database' as 'store' })).toThrow(/"clock"/);
  });
});
