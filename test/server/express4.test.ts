/**
 * The guard behind Express 4 and Express 5, side by side: their body parsers differ.
 * Express 4's (body-parser 1.x) set `req.body = {}` on every request they pass through,
 * parsed or not, and skip a request only when one of them set `req._body`.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { idempotency, UncertainOutcomeError, type IdempotentRequest } from '../../src/server/index.js';
import { express4 } from '../helpers/express4.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const OUTCOME_UNKNOWN = 'https://submit-once.dev/problems/outcome-unknown';

describe.each([
  ['Express 4', express4],
  ['Express 5', express],
])('behind %s', (_name, ex) => {
  /** `before` mounted, then the guard, then `after`; the handler records the body it got. */
  async function orders(parsers: { before?: RequestHandler[]; after?: RequestHandler[] } = {}) {
    const seen: unknown[] = [];
    const app = ex();
    for (const parser of parsers.before ?? []) app.use(parser);
    app.use(idempotency());
    for (const parser of parsers.after ?? []) app.use(parser);
    app.post('/orders', (req: Request, res: Response) => {
      seen.push(req.body);
      res.status(201).json({ run: seen.length });
    });
    const url = `${await serve(app)}/orders`;
    const send = (key: string, raw: string, type: string) => post(url, { key, raw, headers: { 'Content-Type': type } });
    return { url, seen, send };
  }

  it('json() before the guard: a JSON payload is replayed, another one under the same key gets 422', async () => {
    const { url, seen } = await orders({ before: [ex.json()] });
    expect((await post(url, { key: 'j', body: { item: 'tea', qty: 1 } })).status).toBe(201);
    const again = await post(url, { key: 'j', raw: '{"qty":1,"item":"tea"}', headers: { 'Content-Type': 'application/json' } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await post(url, { key: 'j', body: { item: 'cake' } })).status).toBe(422);
    // An empty object the parser read is a payload, not the placeholder Express 4 leaves.
    expect((await post(url, { key: 'e', body: {} })).status).toBe(201);
    expect((await post(url, { key: 'e', body: {} })).headers.get('idempotent-replayed')).toBe('true');
    expect((await post(url, { key: 'e', body: { item: 'tea' } })).status).toBe(422);
    expect(seen).toEqual([{ item: 'tea', qty: 1 }, {}]);
  });

  it.each([
    ['text/plain', 'tea', 'cake'],
    ['application/x-www-form-urlencoded', 'item=tea', 'item=cake'],
  ])('json() before the guard, a %s body it does not parse: the guard reads and fingerprints it, another payload gets 422', async (type, tea, cake) => {
    const { seen, send } = await orders({ before: [ex.json()] });
    expect((await send('t', tea, type)).status).toBe(201);
    expect((await send('t', tea, type)).headers.get('idempotent-replayed')).toBe('true');
    expect((await send('t', cake, type)).status).toBe(422);
    // As when no parser ran: the bytes the guard read.
    expect(seen.map((body) => Buffer.isBuffer(body) && body.toString())).toEqual([tea]);
  });

  it('json() before the guard, a POST without a body: runs once, replayed, and the handler gets what the parser left', async () => {
    const { url, seen } = await orders({ before: [ex.json()] });
    expect((await post(url, { key: 'none' })).status).toBe(201);
    expect((await post(url, { key: 'none' })).headers.get('idempotent-replayed')).toBe('true');
    expect((await post(url, { key: 'none', raw: 'tea', headers: { 'Content-Type': 'text/plain' } })).status).toBe(422);
    expect(seen).toEqual([ex === express4 ? {} : undefined]);
  });

  it('text() or raw() before the guard: the parsed body is fingerprinted, another payload gets 422', async () => {
    for (const before of [ex.text(), ex.raw({ type: 'text/plain' })]) {
      const { seen, send } = await orders({ before: [before] });
      expect((await send('t', 'tea', 'text/plain')).status).toBe(201);
      expect((await send('t', 'tea', 'text/plain')).headers.get('idempotent-replayed')).toBe('true');
      expect((await send('t', 'cake', 'text/plain')).status).toBe(422);
      expect(seen.map(String)).toEqual(['tea']);
    }
  });

  it('no parser: the guard reads the body (JSON parsed, else a Buffer)', async () => {
    const { url, seen, send } = await orders();
    expect((await post(url, { key: 'j', body: { item: 'tea' } })).status).toBe(201);
    expect((await post(url, { key: 'j', body: { item: 'tea' } })).headers.get('idempotent-replayed')).toBe('true');
    expect((await post(url, { key: 'j', body: { item: 'cake' } })).status).toBe(422);
    expect((await send('t', 'tea', 'text/plain')).status).toBe(201);
    expect((await send('t', 'cake', 'text/plain')).status).toBe(422);
    expect(seen.map((body) => (Buffer.isBuffer(body) ? body.toString() : body))).toEqual([{ item: 'tea' }, 'tea']);
  });

  it('parsers after the guard skip the stream it read: the handler gets the body the guard left', async () => {
    const { url, seen, send } = await orders({ after: [ex.json(), ex.text(), ex.urlencoded({ extended: false })] });
    expect((await post(url, { key: 'j', body: { item: 'tea' } })).status).toBe(201);
    expect((await send('t', 'tea', 'text/plain')).status).toBe(201);
    expect((await send('f', 'item=tea', 'application/x-www-form-urlencoded')).status).toBe(201);
    expect(seen.map((body) => (Buffer.isBuffer(body) ? body.toString() : body))).toEqual([{ item: 'tea' }, 'tea', 'item=tea']);
  });

  // Express 4 does not catch a rejected promise: a handler there throws at once or calls next(error).
  it.each([
    ['thrown at once', (): void => {
      throw new UncertainOutcomeError('provider hung up');
    }],
    ['handed to next() later', (_req: Request, _res: Response, next: (error: unknown) => void): void => {
      setTimeout(() => next(new UncertainOutcomeError('provider hung up')), 5);
    }],
  ])('mw.errorHandler, an UncertainOutcomeError %s: the key turns unknown, and the retry does not run the handler', async (_how, fail) => {
    const mw = idempotency();
    const app = ex();
    app.use(ex.json(), mw);
    let runs = 0;
    app.post('/charges', (req: Request, res: Response, next: (error: unknown) => void) => {
      runs++;
      fail(req, res, next);
    });
    app.use(mw.errorHandler);
    const url = `${await serve(app)}/charges`;
    for (const _ of [1, 2]) {
      const answer = await post(url, { key: 'c', body: { amount: 5 } });
      expect(answer.status).toBe(500);
      expect(answer.json().type).toBe(OUTCOME_UNKNOWN);
    }
    expect(runs).toBe(1);
  });

  it('res.json, res.send and res.sendFile are captured and replayed byte for byte, with no property added to the request or the response', async () => {
    const file = join(tmpdir(), `submit-once-express-${process.pid}.txt`);
    writeFileSync(file, 'receipt 42\n');
    let runs = 0;
    const own: string[] = [];
    const app = ex();
    app.use(ex.json(), idempotency());
    app.post('/:how', (req: Request, res: Response) => {
      runs++;
      own.push(...['writeHead', 'write', 'end'].filter((name) => Object.hasOwn(res, name)), ...(Object.hasOwn(req, 'idempotency') ? ['idempotency'] : []));
      const { key } = (req as IdempotentRequest).idempotency!;
      if (req.params.how === 'json') res.status(201).json({ key, run: runs });
      else if (req.params.how === 'send') res.status(202).send(`run ${runs}`);
      else res.sendFile(file);
    });
    const url = await serve(app);
    for (const how of ['json', 'send', 'file']) {
      const first = await post(`${url}/${how}`, { key: how, body: { n: 1 } });
      const again = await post(`${url}/${how}`, { key: how, body: { n: 1 } });
      expect(first.status).toBeLessThan(300);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect([again.status, again.text, again.headers.get('content-type')]).toEqual([first.status, first.text, first.headers.get('content-type')]);
    }
    expect(runs).toBe(3);
    expect(own).toEqual([]);
  });

  it('captures an answer given by a sibling app after the guarded sub-app passed the request on (Express 4 and 5 swap prototypes alike)', async () => {
    let runs = 0;
    const orders = ex();
    orders.use(ex.json(), idempotency());
    const users = ex();
    users.post('/users', (_req: Request, res: Response) => {
      runs++;
      res.status(201).json({ user: runs });
    });
    const app = ex();
    app.use('/api', orders);
    app.use('/api', users);
    const url = await serve(app);
    const first = await post(`${url}/api/users`, { key: 'u', body: {} });
    const again = await post(`${url}/api/users`, { key: 'u', body: {} });
    expect(first.json()).toEqual({ user: 1 });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json()).toEqual({ user: 1 });
    expect(runs).toBe(1);
  });
});
