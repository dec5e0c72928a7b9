/**
 * A request body read before the guard, on plain node:http (something mounted first
 * consumed the stream) and behind Express's body parsers, before and after the guard.
 */
import { request, type IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idempotency, type IdempotencyEvent } from '../../src/server/index.js';
import type { IdempotentRequest } from '../../src/server/middleware.js';
import { post, type Answer } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
afterEach(() => void vi.restoreAllMocks());
const CONSUMED = 'https://submit-once.dev/problems/body-consumed';

/** Reads the whole stream, as a logger or a signature check mounted before the guard may. */
function drain(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

describe('a body consumed before the guard (node:http)', () => {
  it('is refused with 500 body-consumed and the handler never runs: two payloads under one key are not replayed', async () => {
    let runs = 0;
    const events: IdempotencyEvent[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const mw = idempotency({ onEvent: (e) => events.push(e) });
    const guarded = mw.handler((_req, res) => {
      runs++;
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ run: runs }));
    });
    const url = await serve((req, res) => void drain(req).then(() => guarded(req, res)));

    const first = await post(`${url}/orders`, { key: 'k', body: { amount: 10 } });
    const second = await post(`${url}/orders`, { key: 'k', body: { amount: 99 } });
    for (const answer of [first, second]) {
      expect(answer.status).toBe(500);
      expect(answer.headers.get('idempotent-replayed')).toBeNull();
      expect(answer.json()).toMatchObject({ type: CONSUMED, status: 500 });
    }
    expect(runs).toBe(0);
    expect(mw.stats().totals).toMatchObject({ requests: 2, rejected: 2, executions: 0, replays: 0 });
    expect(events.map((e) => e.type === 'rejected' && e.problem)).toEqual(['body-consumed', 'body-consumed']);
    // The developer sees it without `onEvent`: once per middleware, not per request.
    expect(warn.mock.calls.map(([, options]) => (options as { code?: string }).code)).toEqual(['SUBMIT_ONCE_BODY_CONSUMED']);
  });

  it('is refused when only its first chunk was taken before the guard (the rest would fingerprint as the whole)', async () => {
    let runs = 0;
    const guarded = idempotency().handler((_req, res) => {
      runs++;
      res.end('ran');
    });
    const url = await serve((req, res) => {
      req.once('data', () => {
        req.pause();
        guarded(req, res);
      });
    });
    const { port } = new URL(url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, method: 'POST', path: '/orders', headers: { 'Idempotency-Key': 'part', 'Content-Type': 'text/plain' } }, (res) => {
        void drain(res).then((body) => resolve({ status: res.statusCode ?? 0, body: body.toString() }));
      });
      req.on('error', reject);
      req.write('first half ');
      // The second chunk goes only after the first reached the server as a chunk of its own.
      setTimeout(() => req.end('second half'), 50);
    });
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ type: CONSUMED });
    expect(runs).toBe(0);
  });

  it('is fingerprinted from req.rawBody when what read it kept the bytes there (a webhook signature check)', async () => {
    let runs = 0;
    const guarded = idempotency().handler((req, res) => {
      runs++;
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ run: runs, got: (req as IdempotentRequest).body }));
    });
    const url = await serve((req, res) => {
      void drain(req).then((raw) => {
        (req as IdempotentRequest).rawBody = raw;
        guarded(req, res);
      });
    });
    const first = await post(`${url}/orders`, { key: 'w', body: { amount: 10 } });
    expect(first.status).toBe(201);
    expect(first.json()).toEqual({ run: 1, got: { amount: 10 } });
    const again = await post(`${url}/orders`, { key: 'w', raw: '{ "amount": 10 }', headers: { 'Content-Type': 'application/json' } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await post(`${url}/orders`, { key: 'w', body: { amount: 99 } })).status).toBe(422);
    expect(runs).toBe(1);
  });

  it('reads a stream paused before the guard and never read (a throttle, a proxy): it runs once, and replays', async () => {
    let runs = 0;
    const guarded = idempotency().handler((req, res) => {
      runs++;
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify((req as IdempotentRequest).body));
    });
    const url = await serve((req, res) => {
      req.pause();
      guarded(req, res);
    });
    const answers: Array<Answer | 'hung'> = [];
    for (const body of [{ amount: 10 }, { amount: 10 }, { amount: 99 }]) {
      answers.push(await Promise.race([post(`${url}/orders`, { key: 'k', body }), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 3_000))]));
    }
    expect(answers.map((a) => (a === 'hung' ? a : a.status))).toEqual([201, 201, 422]);
    expect(runs).toBe(1);
  });

  it('still runs a request without a body whose empty stream was consumed', async () => {
    let runs = 0;
    const guarded = idempotency().handler((_req, res) => {
      runs++;
      res.writeHead(201).end(String(runs));
    });
    const url = await serve((req, res) => void drain(req).then(() => guarded(req, res)));
    expect((await post(`${url}/orders`, { key: 'empty' })).status).toBe(201);
    const again = await post(`${url}/orders`, { key: 'empty' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toBe(1);
  });
});

describe('Express body parsers and the guard', () => {
  const orders = (parsers: { before?: express.RequestHandler; after?: express.RequestHandler }) => {
    const seen: unknown[] = [];
    const app = express();
    if (parsers.before) app.use(parsers.before);
    app.use(idempotency());
    if (parsers.after) app.use(parsers.after);
    app.post('/orders', (req: Request, res: Response) => {
      seen.push(req.body);
      res.status(201).json({ run: seen.length });
    });
    return { app, seen };
  };
  const text = (url: string, key: string, raw: string) => post(`${url}/orders`, { key, raw, headers: { 'Content-Type': 'text/plain' } });

  it('express.text() or express.raw() before the guard: the parsed body is fingerprinted, another payload gets 422', async () => {
    for (const before of [express.text(), express.raw({ type: 'text/plain' })]) {
      const { app, seen } = orders({ before });
      const url = await serve(app);
      expect((await text(url, 't', 'tea')).status).toBe(201);
      expect((await text(url, 't', 'tea')).headers.get('idempotent-replayed')).toBe('true');
      expect((await text(url, 't', 'cake')).status).toBe(422);
      expect(seen).toHaveLength(1);
    }
  });

  it('express.json() after the guard skips the read stream: the handler gets the body the guard parsed', async () => {
    const { app, seen } = orders({ after: express.json() });
    const url = await serve(app);
    expect((await post(`${url}/orders`, { key: 'j', body: { item: 'tea' } })).status).toBe(201);
    expect(seen).toEqual([{ item: 'tea' }]);
  });

  it('express.text() or express.urlencoded() after the guard leave the bytes the guard read: the handler gets a Buffer', async () => {
    const { app, seen } = orders({ after: express.text() });
    const url = await serve(app);
    expect((await text(url, 'x', 'tea')).status).toBe(201);
    const form = orders({ after: express.urlencoded() });
    const formUrl = await serve(form.app);
    const answer = await post(`${formUrl}/orders`, { key: 'f', raw: 'item=tea', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(answer.status).toBe(201);
    expect([...seen, ...form.seen].map((body) => Buffer.isBuffer(body) && body.toString())).toEqual(['tea', 'item=tea']);
  });
});
