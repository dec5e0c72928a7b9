/**
 * A token is one claim whatever the route spelling or method it is sent with (st2). Behind
 * a router that sends several paths to one handler (Express: `/orders`, `/orders/`,
 * `/ORDERS`), an st1 token was consumed once per method and path, so one "one-time" token
 * ran the handler once a spelling. Tokens issued in st1 before the upgrade keep their
 * route-scoped storage key, so a retry across the upgrade still finds its record.
 * Effects are counted at the handler.
 */
import express, { type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { idempotency, memoryStore, type IdempotencyMiddleware, type IdempotencyOptions } from '../../src/server/index.js';
import { payloadFingerprint } from '../../src/server/fingerprint.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();
const SECRET = 'route-spelling-test-secret-0123456789-ab';
const ORDER = { item: 'tea' };

/** An Express app whose /orders takes POST and PATCH, a token endpoint, and its handler runs counted. */
async function ordersApp(options: IdempotencyOptions = {}): Promise<{ url: string; token: () => Promise<string>; runs: () => number; mw: IdempotencyMiddleware }> {
  let runs = 0;
  const mw = idempotency({ tokens: { secrets: [SECRET] }, principal: false, ...options });
  const app = express();
  app.get('/token', async (req: Request, res: Response) => void res.json(await mw.issueToken(req)));
  app.use(express.json(), mw);
  app.post('/orders', (_req: Request, res: Response) => void res.status(201).json({ id: ++runs }));
  app.patch('/orders', (_req: Request, res: Response) => void res.status(200).json({ id: ++runs }));
  app.post('/payments', (_req: Request, res: Response) => void res.status(201).json({ id: ++runs }));
  const url = await serve(app);
  const token = async () => ((await (await fetch(`${url}/token`)).json()) as { token: string }).token;
  return { url, token, runs: () => runs, mw };
}

describe('token mode behind Express: one token, one run', () => {
  it('runs once whatever spelling of the route the token is sent to; the others are another payload (422)', async () => {
    const app = await ordersApp();
    const token = await app.token();
    expect(token.startsWith('st2.')).toBe(true);
    const answers = [];
    for (const path of ['/orders', '/orders/', '/ORDERS']) answers.push((await post(`${app.url}${path}`, { key: token, body: ORDER })).status);
    expect(answers).toEqual([201, 422, 422]);
    expect(app.runs()).toBe(1);
    // The first spelling still replays.
    const again = await post(`${app.url}/orders`, { key: token, body: ORDER });
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(app.runs()).toBe(1);
  });

  it('runs once across methods and routes: POST then PATCH, then another route, with one token', async () => {
    const app = await ordersApp();
    const token = await app.token();
    const answers = [];
    answers.push((await post(`${app.url}/orders`, { key: token, body: ORDER })).status);
    answers.push((await post(`${app.url}/orders`, { key: token, body: ORDER, method: 'PATCH' })).status);
    answers.push((await post(`${app.url}/payments`, { key: token, body: ORDER })).status);
    expect(answers).toEqual([201, 422, 422]);
    expect(app.runs()).toBe(1);
  });

  it('a custom route option changes nothing for a token: still one run', async () => {
    const app = await ordersApp({ route: (req) => `${req.url ?? ''}#custom` });
    const token = await app.token();
    const answers = [];
    for (const path of ['/orders', '/orders/']) answers.push((await post(`${app.url}${path}`, { key: token, body: ORDER })).status);
    expect(answers).toEqual([201, 422]);
    expect(app.runs()).toBe(1);
  });
});

describe('an expired st2 token', () => {
  it('used in time: replays on its route, 422 on another spelling; never used: token-expired on each, nothing runs', async () => {
    let clock = Date.now();
    const app = await ordersApp({ tokens: { secrets: [SECRET], ttl: 60_000 }, now: () => clock });
    const used = await app.token();
    const late = await app.token();
    const first = await post(`${app.url}/orders`, { key: used, body: ORDER });
    clock += 60_001;
    const replay = await post(`${app.url}/orders`, { key: used, body: ORDER });
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.text]).toEqual([201, 'true', first.text]);
    expect((await post(`${app.url}/ORDERS`, { key: used, body: ORDER })).status).toBe(422);
    const refusals = [];
    for (const path of ['/orders', '/orders/', '/orders']) refusals.push((await post(`${app.url}${path}`, { key: late, body: ORDER })).json().type);
    expect(refusals).toEqual(Array(3).fill('https://submit-once.dev/problems/token-expired'));
    expect(app.runs()).toBe(1);
  });
});

describe('the audit of a token', () => {
  it('names the method and route of its run, and counts a reuse on another spelling as a mismatch', async () => {
    const app = await ordersApp();
    const token = await app.token();
    await post(`${app.url}/orders`, { key: token, body: ORDER });
    expect(app.mw.stats().keys).toMatchObject([{ key: token, method: 'POST', route: '/orders', executions: 1, lastStatus: 201 }]);
    await post(`${app.url}/ORDERS`, { key: token, body: ORDER });
    expect(app.mw.stats().keys).toMatchObject([{ key: token, method: 'POST', route: '/orders', executions: 1, mismatches: 1 }]);
    expect(app.mw.stats().totals).toMatchObject({ executions: 1, mismatches: 1 });
  });
});

describe('st1 tokens, issued before st2', () => {
  it('keep the storage key they were claimed under: a retry after the upgrade replays, nothing runs', async () => {
    const store = memoryStore();
    // What the version before st2 stored for an st1 token's first use of POST /orders
    // (the literal text, so a change of the storage key's format fails here).
    const before = await ordersApp({ store, tokens: { secrets: [SECRET], format: 'st1' } });
    const token = await before.token();
    expect(token.startsWith('st1.')).toBe(true);
    const key = JSON.stringify([null, 'POST', '/orders', token]);
    const fingerprint = payloadFingerprint({ method: 'POST', path: '/orders', query: '', body: ORDER, contentType: 'application/json' });
    const now = Date.now();
    const claim = await store.claim({ key, fingerprint, leaseMs: 60_000, retentionMs: 60_000, now, recover: false });
    if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
    const body = new TextEncoder().encode('{"id":"before-upgrade"}');
    await store.complete({ key, token: claim.token, fingerprint, response: { status: 201, headers: { 'content-type': 'application/json' }, body }, retentionMs: 60_000, now });

    const after = await ordersApp({ store });
    const retry = await post(`${after.url}/orders`, { key: token, body: ORDER });
    expect([retry.status, retry.headers.get('idempotent-replayed'), retry.text]).toEqual([201, 'true', '{"id":"before-upgrade"}']);
    expect(after.runs()).toBe(0);
  });

  it('are still consumed once per method and route until they expire (the limit st2 removes)', async () => {
    const app = await ordersApp({ tokens: { secrets: [SECRET], format: 'st1' } });
    const token = await app.token();
    const answers = [];
    for (const path of ['/orders', '/orders/']) answers.push((await post(`${app.url}${path}`, { key: token, body: ORDER })).status);
    expect(answers).toEqual([201, 201]);
    expect(app.runs()).toBe(2);
  });

  it('run once behind a route that names the spellings alike; the others are another payload (422)', async () => {
    const route = (req: { url?: string }) => (req.url ?? '').split('?')[0]!.toLowerCase().replace(/\/+$/, '');
    const app = await ordersApp({ route, tokens: { secrets: [SECRET], format: 'st1' } });
    const token = await app.token();
    const answers = [];
    for (const path of ['/orders', '/orders/', '/ORDERS']) answers.push((await post(`${app.url}${path}`, { key: token, body: ORDER })).status);
    expect(answers).toEqual([201, 422, 422]);
    expect(app.runs()).toBe(1);
  });
});
