import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { idempotency, memoryStore, StoreUnavailableError, UncertainOutcomeError, type IdempotencyStore } from '../../src/server/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';
import { manualClock, sleep } from '../helpers/clock.js';

const serve = serverPerTest();

/** Sends a POST and drops the connection after `ms`, as a reloading page or a client timeout does. */
function postAndDisconnect(url: string, key: string, body: unknown, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), 'Idempotency-Key': key },
    });
    req.on('error', () => resolve());
    req.end(payload);
    setTimeout(() => {
      req.destroy();
      resolve();
    }, ms);
  });
}

/** A memory store whose `complete` fails, as Redis going down between claim and completion. */
function failingOnComplete(): IdempotencyStore {
  const store = memoryStore({ sweepIntervalMs: 0 });
  return { ...store, complete: async () => Promise.reject(new StoreUnavailableError('down at completion')) };
}

describe('a running handler keeps its claim', () => {
  it('whatever the client does: a handler slower than the lease whose client left runs once, retries get 409 then the replay', async () => {
    let runs = 0;
    let finished = false;
    // Timings leave each step hundreds of ms of slack: under load a renewal (every half lease) can run late.
    const mw = idempotency({ leaseMs: 300 });
    const url = await serve(mw.handler(async (_req, res) => {
      runs++;
      await sleep(1_500);
      finished = true;
      res.statusCode = 201;
      res.end(`order ${runs}`);
    }));
    await postAndDisconnect(`${url}/orders`, 'slow', { item: 'tea' }, 50);
    // Well past the lease: a lease that stopped renewing when the client left would be free by now.
    await sleep(700);
    const during = await post(`${url}/orders`, { key: 'slow', body: { item: 'tea' } });
    expect(during.status).toBe(409);
    expect(during.json().type).toBe('https://submit-once.dev/problems/request-in-progress');
    while (!finished) await sleep(50);
    await sleep(50);
    const after = await post(`${url}/orders`, { key: 'slow', body: { item: 'tea' } });
    expect(after.status).toBe(201);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(after.text).toBe('order 1');
    expect(runs).toBe(1);
  });

  it('for at most maxRunMs: a handler that never ends leaves its key outcome-unknown, not free', async () => {
    let runs = 0;
    const events: string[] = [];
    const mw = idempotency({ leaseMs: 300, maxRunMs: 800, onEvent: (e) => events.push(e.type) });
    const url = await serve(mw.handler(() => {
      runs++; // never answers
    }));
    void post(`${url}/orders`, { key: 'stuck', body: {} }).catch(() => undefined);
    // Past the first lease (renewed), not yet past maxRunMs.
    await sleep(500);
    expect((await post(`${url}/orders`, { key: 'stuck', body: {} })).status).toBe(409);
    // Past maxRunMs and then the last renewed lease.
    await sleep(900);
    const after = await post(`${url}/orders`, { key: 'stuck', body: {} });
    expect(after.status).toBe(500);
    expect(after.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(runs).toBe(1);
    expect(events).toContain('run-overdue');
  });
});

describe('many running handlers share one lease keeper', () => {
  it('each run keeps its own maxRunMs: a later run stays claimed after an earlier one ran out', async () => {
    const events: string[] = [];
    const mw = idempotency({ leaseMs: 300, maxRunMs: 2_000, onEvent: (e) => events.push(`${e.type}:${e.key ?? ''}`) });
    const url = await serve(mw.handler(() => undefined)); // never answers
    void post(`${url}/orders`, { key: 'early', body: {} }).catch(() => undefined);
    await sleep(1_200);
    void post(`${url}/orders`, { key: 'late', body: {} }).catch(() => undefined);
    await sleep(1_400);
    // `early` passed maxRunMs (2 s) and its lease (300 ms) ran out; `late` is 1.4 s in and still renewed.
    expect((await post(`${url}/orders`, { key: 'early', body: {} })).json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect((await post(`${url}/orders`, { key: 'late', body: {} })).status).toBe(409);
    // `late` is due 2 s after its own start, not a whole maxRunMs after `early`'s deadline.
    await sleep(1_300);
    expect((await post(`${url}/orders`, { key: 'late', body: {} })).json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(events.filter((e) => e.startsWith('run-overdue'))).toEqual(['run-overdue:early', 'run-overdue:late']);
  });
});

describe('a lease or run limit longer than a Node timer holds (2^31 - 1 ms, 24.8 days)', () => {
  it('is renewed and watched at that timer limit, not every millisecond', async () => {
    const store = memoryStore({ sweepIntervalMs: 0 });
    let renewals = 0;
    const counted: IdempotencyStore = { ...store, renew: (request) => (renewals++, store.renew(request)) };
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      // Half of this lease and this run limit are past what setTimeout takes: Node then fires after 1 ms.
      const mw = idempotency({ store: counted, leaseMs: 2 ** 33, maxRunMs: 2 ** 32 });
      const url = await serve(mw.handler(async (_req, res) => {
        await sleep(150);
        res.statusCode = 201;
        res.end('ok');
      }));
      expect((await post(`${url}/orders`, { key: 'long', body: {} })).status).toBe(201);
      await sleep(20);
      expect(renewals).toBe(0);
      expect(warnings.filter((name) => name === 'TimeoutOverflowWarning')).toEqual([]);
      await mw.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a handler that cannot tell whether its effect happened', () => {
  it('throws UncertainOutcomeError: the key turns unknown at once (before its lease ends) and is not run again', async () => {
    let runs = 0;
    const mw = idempotency({ leaseMs: 60_000 });
    const url = await serve(mw.handler(async (_req, res) => {
      runs++;
      if (runs === 2) {
        res.statusCode = 200;
        res.write('partial'); // headers already sent
      }
      throw new UncertainOutcomeError('the payment provider hung up after the charge request');
    }));
    for (let i = 0; i < 2; i++) {
      const answer = await post(`${url}/pay`, { key: 'uncertain', body: {} });
      expect(answer.status).toBe(500);
      expect(answer.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    }
    expect(runs).toBe(1);
    // After the headers went out, the connection is cut, and the key turns unknown all the same.
    await expect(post(`${url}/pay`, { key: 'uncertain-2', body: {} })).rejects.toThrow();
    expect((await post(`${url}/pay`, { key: 'uncertain-2', body: {} })).json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    expect(runs).toBe(2);
  });
});

describe('an outcome that cannot be stored', () => {
  it('stays claimed when the store fails at completion, and turns outcome-unknown after the lease instead of running again', async () => {
    const clock = manualClock();
    let runs = 0;
    const mw = idempotency({ store: failingOnComplete(), leaseMs: 1_000, now: clock.now });
    const url = await serve(mw.handler((_req, res) => {
      res.statusCode = 201;
      res.end(`order ${++runs}`);
    }));
    const first = await post(`${url}/orders`, { key: 'lost', body: { item: 'tea' } });
    expect(first.status).toBe(201);
    expect(mw.stats().totals.storeErrors).toBe(1);
    expect((await post(`${url}/orders`, { key: 'lost', body: { item: 'tea' } })).status).toBe(409);
    clock.advance(1_001);
    const retry = await post(`${url}/orders`, { key: 'lost', body: { item: 'tea' } });
    expect(retry.status).toBe(500);
    expect(retry.headers.get('content-type')).toBe('application/problem+json');
    expect(retry.json()).toMatchObject({ type: 'https://submit-once.dev/problems/outcome-unknown', status: 500 });
    expect(runs).toBe(1);
  });

  it('with recovery, the orders API finds the order of the first run by its (principal, key) index instead of creating a second', async () => {
    const clock = manualClock();
    const api = createOrdersApi();
    const mw = idempotency({ store: failingOnComplete(), leaseMs: 1_000, now: clock.now, recovery: true });
    const url = await serve(mw.handler(api));
    const first = await post(`${url}/orders`, { key: 'once', body: { item: 'tea' }, headers: { Authorization: 'Bearer alice' } });
    expect(first.status).toBe(201);
    clock.advance(1_001);
    const recovered = await post(`${url}/orders`, { key: 'once', body: { item: 'tea' }, headers: { Authorization: 'Bearer alice' } });
    expect(recovered.status).toBe(201);
    expect(recovered.json().id).toBe(first.json().id);
    expect(api.orders()).toHaveLength(1);
    expect(mw.stats().totals).toMatchObject({ executions: 2, recoveryRuns: 1 });
    // Another caller's same key is another order.
    const bob = await post(`${url}/orders`, { key: 'once', body: { item: 'tea' }, headers: { Authorization: 'Bearer bob' } });
    expect(bob.json().id).not.toBe(first.json().id);
    expect(api.orders()).toHaveLength(2);
  });
});
