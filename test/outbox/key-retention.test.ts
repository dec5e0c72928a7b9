/**
 * The outbox's `retention` is the servers' key retention, and a server's retention counts
 * from when it first saw the key, not from when the outbox held the request. A key sent
 * before (reply lost) and reused by a later submission held offline must not be replayed
 * after the server forgot it: that would run the handler a second time.
 */
import { IDBFactory } from 'fake-indexeddb';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOutbox, type Outbox, type OutboxEvent } from '../../src/outbox/index.js';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { manualClock } from '../helpers/clock.js';

const RETENTION = 60_000;
let verifier: Verifier;
let url: string;
let runs: string[];
let outbox: Outbox | undefined;
const clock = manualClock();

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  runs = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    runs.push(String(req.headers['idempotency-key']));
    res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
  };
  verifier = createVerifier({ handler, principal: false, now: clock.now, ttl: RETENTION });
  url = await verifier.listen(0);
});
afterEach(async () => {
  outbox?.close();
  vi.unstubAllGlobals();
  await verifier.close();
});

it("a key the server saw before it was held expires with the server's retention: never replayed after the server forgot it", async () => {
  let online = true;
  const events: OutboxEvent[] = [];
  outbox = createOutbox({ databaseName: 'key-retention', locks: null, retention: RETENTION, now: clock.now, online: () => online, onEvent: (event) => events.push(event) });
  let loseReply = true;
  const post = createIdempotentFetch({
    store: memoryStore(),
    locks: null,
    outbox,
    now: clock.now,
    retry: { attempts: 1, baseDelay: 1, maxDelay: 1 },
    // The first attempt reaches the server and runs; its reply is lost on the way back.
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (!loseReply) return response;
      await response.arrayBuffer();
      throw new TypeError('Failed to fetch');
    },
  });
  const order = (queue: boolean) => post(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A-1"}', idempotency: { queue } });

  await expect(order(false)).rejects.toMatchObject({ code: 'ambiguous-outcome' });
  expect(runs).toHaveLength(1);
  const [key] = runs;

  // 40 s later, offline: the same cart again reuses the key (the outcome is unknown) and is held.
  clock.advance(40_000);
  online = false;
  loseReply = false;
  const held = order(true);
  void held.catch(() => undefined);
  await vi.waitFor(async () => expect((await outbox!.list()).map((item) => item.key)).toEqual([key]));

  // Back online 30 s later: 70 s since the server first saw the key, which it has forgotten.
  clock.advance(30_000);
  online = true;
  await outbox.flush();
  expect(runs).toEqual([key]);
  await expect(held).rejects.toMatchObject({ name: 'OutboxGaveUpError', reason: 'expired' });
});

it('a key already past the retention when held is refused at once (OutboxGaveUpError, expired), not kept until the connection returns', async () => {
  let online = true;
  outbox = createOutbox({ databaseName: 'key-retention-2', locks: null, retention: RETENTION, now: clock.now, online: () => online });
  let loseReply = true;
  const post = createIdempotentFetch({
    store: memoryStore(),
    locks: null,
    outbox,
    now: clock.now,
    retry: { attempts: 1, baseDelay: 1, maxDelay: 1 },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (!loseReply) return response;
      await response.arrayBuffer();
      throw new TypeError('Failed to fetch');
    },
  });
  const order = (queue: boolean) => post(`${url}/orders`, { method: 'POST', body: 'x', idempotency: { queue } });
  await expect(order(false)).rejects.toMatchObject({ code: 'ambiguous-outcome' });
  clock.advance(RETENTION + 1);
  online = false;
  loseReply = false;
  const settled = await Promise.race([order(true).then(() => 'answered', (error: unknown) => error), new Promise((resolve) => setTimeout(resolve, 200, 'waiting'))]);
  expect(settled).toMatchObject({ name: 'OutboxGaveUpError', reason: 'expired' });
  expect(await outbox.list()).toEqual([]);
  online = true;
  await outbox.flush();
  expect(runs).toHaveLength(1);
});
