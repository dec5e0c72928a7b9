import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fileStore, idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import { claimOf } from './conformance.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();
const dir = mkdtempSync(join(tmpdir(), 'submit-once-sync-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The memory store as another store would be: `claim` and `complete` through their promises only. */
const promisesOnly = (): IdempotencyStore => ({ ...memoryStore() });

/**
 * An app whose middleware reports, for each request, whether `next()` ran within the
 * idempotency middleware's own call and whether the handler's `end` went out within its
 * own call: what a store that answers at once (`sync`) saves is those promise turns.
 */
function probedApp(store: IdempotencyStore, seen: Array<{ nextInCall: boolean; endedInCall: boolean }>): express.Express {
  const guard = idempotency({ store });
  const app = express();
  app.use(express.json());
  app.use((req: Request, res: Response, next: NextFunction) => {
    let inCall = true;
    guard(req, res, () => {
      res.locals.nextInCall = inCall;
      next();
    });
    inCall = false;
  });
  app.post('/orders', (_req: Request, res: Response) => {
    res.status(201).json({ ok: true });
    seen.push({ nextInCall: res.locals.nextInCall === true, endedInCall: res.writableEnded });
  });
  return app;
}

describe('a store that answers at once (sync)', () => {
  it('the memory store has it, and a copy made by spreading it (a wrapper) does not', () => {
    expect(memoryStore().sync).toBeDefined();
    expect(promisesOnly().sync).toBeUndefined();
  });

  it.each([
    { store: 'the memory store (sync)', make: memoryStore, inCall: true },
    { store: 'a store without it, the same answers through promise turns (the control)', make: promisesOnly, inCall: false },
  ])('behind Express, $store: next() and the stored answer in the middleware and handler calls themselves: $inCall', async ({ make, inCall }) => {
    const seen: Array<{ nextInCall: boolean; endedInCall: boolean }> = [];
    const url = await serve(probedApp(make(), seen));
    const first = await post(`${url}/orders`, { key: 's1', body: { item: 'tea' } });
    const again = await post(`${url}/orders`, { key: 's1', body: { item: 'tea' } });
    expect([first.status, again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 201, 'true']);
    expect(again.text).toBe(first.text);
    expect(seen).toEqual([{ nextInCall: inCall, endedInCall: inCall }]);
  });

  it('the file store answers its claim at once, written to the file before it returns, and its completion through the promise (it waits for fdatasync)', async () => {
    const path = join(dir, 'claim-at-once.jsonl');
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const sync = store.sync;
    expect(sync?.complete).toBeUndefined();
    const result = sync!.claim(claimOf('at-once', Date.now()));
    expect(result?.status).toBe('claimed');
    // No turn has passed: a process killed now still remembers the claim.
    expect(readFileSync(path, 'utf8')).toContain('"at-once"');
    await store.close();

    const seen: Array<{ nextInCall: boolean; endedInCall: boolean }> = [];
    const url = await serve(probedApp(fileStore(join(dir, 'probed.jsonl'), { sweepIntervalMs: 0 }), seen));
    const first = await post(`${url}/orders`, { key: 'f1', body: { item: 'tea' } });
    const again = await post(`${url}/orders`, { key: 'f1', body: { item: 'tea' } });
    expect([first.status, again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 201, 'true']);
    expect(again.text).toBe(first.text);
    expect(seen).toEqual([{ nextInCall: true, endedInCall: false }]);
  });

  it.each([
    { store: 'the memory store (sync)', make: memoryStore },
    { store: 'through promises only', make: promisesOnly },
  ])('a handler that ends its response and then throws ($store): its answer has gone out, stored, a retry replays it, and no release is told or counted', async ({ make }) => {
    let runs = 0;
    const events: string[] = [];
    const guard = idempotency({ store: make(), onEvent: (event) => events.push(event.type) });
    const url = await serve(
      guard.handler((_req, res) => {
        runs++;
        res.writeHead(201).end('made');
        throw new Error('after the end');
      }),
    );
    const first = await post(`${url}/orders`, { key: 's4', body: {} });
    const again = await post(`${url}/orders`, { key: 's4', body: {} });
    expect([first.status, first.text]).toEqual([201, 'made']);
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([201, 'made', 'true']);
    expect(runs).toBe(1);
    expect(events).not.toContain('released');
    expect(guard.stats().totals).toMatchObject({ executions: 1, releases: 0, replays: 1 });
  });

  it('a handler that throws after its head, when the store no longer lets its token release the key: no release is told or counted', async () => {
    const events: string[] = [];
    const store: IdempotencyStore = { ...memoryStore(), release: async () => false };
    const guard = idempotency({ store, onEvent: (event) => events.push(event.type) });
    const url = await serve(
      guard.handler((_req, res) => {
        res.writeHead(201);
        res.write('half');
        throw new Error('after the head');
      }),
    );
    await post(`${url}/orders`, { key: 's5', body: {} }).catch(() => undefined);
    await vi.waitFor(() => expect(events).toContain('executed'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).not.toContain('released');
    expect(guard.stats().totals).toMatchObject({ executions: 1, releases: 0 });
  });

  it('a store whose sync claim throws is answered 503 and the handler never runs', async () => {
    const store = memoryStore();
    const failing: IdempotencyStore = Object.defineProperty({ ...store }, 'sync', {
      value: {
        claim: () => {
          throw new Error('down');
        },
        complete: () => true,
      },
    });
    let runs = 0;
    const url = await serve(
      idempotency({ store: failing }).handler((_req, res) => {
        runs++;
        res.end('ran');
      }),
    );
    const answer = await post(`${url}/orders`, { key: 's2', body: {} });
    expect(answer.status).toBe(503);
    expect(runs).toBe(0);
  });

  it('a store whose sync completion throws still lets the answer out and keeps the key claimed', async () => {
    const store = memoryStore();
    const failing: IdempotencyStore = Object.defineProperty({ ...store }, 'sync', {
      value: {
        claim: store.sync!.claim,
        complete: () => {
          throw new Error('down');
        },
      },
    });
    let runs = 0;
    const url = await serve(
      idempotency({ store: failing }).handler((_req, res) => {
        runs++;
        res.writeHead(201).end('ran');
      }),
    );
    const first = await post(`${url}/orders`, { key: 's3', body: {} });
    const again = await post(`${url}/orders`, { key: 's3', body: {} });
    expect([first.status, first.text]).toEqual([201, 'ran']);
    expect(again.status).toBe(409);
    expect(runs).toBe(1);
  });
});
