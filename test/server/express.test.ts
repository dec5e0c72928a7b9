import express, { type NextFunction, type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { idempotency, type IdempotencyEvent } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();

describe('idempotency() as Express middleware', () => {
  it('works after express.json(): replays, rejects reuse, leaves GET alone', async () => {
    let created = 0;
    const events: IdempotencyEvent['type'][] = [];
    const app = express();
    app.use(express.json());
    app.use(idempotency({ onEvent: (e) => events.push(e.type) }));
    app.post('/orders', (req: Request, res: Response) => {
      created++;
      res.status(201).location(`/orders/${created}`).cookie('session', 'secret').json({ id: created, item: (req.body as { item: string }).item });
    });
    app.get('/orders', (_req: Request, res: Response) => {
      res.json({ created });
    });
    const url = await serve(app);

    const first = await post(`${url}/orders`, { key: 'e1', body: { item: 'tea', qty: 1 } });
    expect(first.status).toBe(201);
    expect(first.headers.get('set-cookie')).toContain('session=secret');
    const again = await post(`${url}/orders`, { key: 'e1', raw: '{"qty":1,"item":"tea"}', headers: { 'Content-Type': 'application/json' } });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe('/orders/1');
    expect(again.headers.get('set-cookie')).toBeNull();
    expect((await post(`${url}/orders`, { key: 'e1', body: { item: 'cake' } })).status).toBe(422);
    expect((await fetch(`${url}/orders`)).status).toBe(200);
    expect(created).toBe(1);
    expect(events).toEqual(['executed', 'completed', 'replayed', 'mismatch']);
  });

  it('reads and parses the body itself when no body parser ran first', async () => {
    const app = express();
    app.post('/api/orders', idempotency(), (req: Request, res: Response) => {
      res.status(201).json({ got: req.body as unknown });
    });
    const url = await serve(app);
    const answer = await post(`${url}/api/orders`, { key: 'e2', body: { item: 'tea' } });
    expect(answer.json()).toEqual({ got: { item: 'tea' } });
  });

  it('namespaces keys per router mount point and per principal', async () => {
    let runs = 0;
    const router = express.Router();
    router.use(idempotency({ principal: (req) => (req.headers.authorization === undefined ? undefined : `user:${req.headers.authorization}`) }));
    router.post('/orders', (_req: Request, res: Response) => {
      runs++;
      res.status(201).json({ run: runs });
    });
    const app = express();
    app.use(express.json());
    app.use('/v1', router);
    app.use('/v2', router);
    const url = await serve(app);
    await post(`${url}/v1/orders`, { key: 'same', body: {}, headers: { Authorization: 'a' } });
    await post(`${url}/v2/orders`, { key: 'same', body: {}, headers: { Authorization: 'a' } });
    await post(`${url}/v1/orders`, { key: 'same', body: {}, headers: { Authorization: 'b' } });
    const replay = await post(`${url}/v1/orders`, { key: 'same', body: {}, headers: { Authorization: 'a' } });
    expect(runs).toBe(3);
    expect(replay.json()).toEqual({ run: 1 });
  });

  it('releases the key when a route throws, so the retry runs', async () => {
    let attempt = 0;
    const app = express();
    app.use(express.json());
    app.use(idempotency());
    app.post('/pay', async (_req: Request, res: Response) => {
      attempt++;
      if (attempt === 1) throw new Error('database timeout');
      res.status(201).json({ paid: true, attempt });
    });
    app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ error: 'internal' });
    });
    const url = await serve(app);
    expect((await post(`${url}/pay`, { key: 'pay-1', body: { amount: 5 } })).status).toBe(500);
    const retry = await post(`${url}/pay`, { key: 'pay-1', body: { amount: 5 } });
    expect(retry.status).toBe(201);
    expect(retry.json()).toEqual({ paid: true, attempt: 2 });
    expect((await post(`${url}/pay`, { key: 'pay-1', body: { amount: 5 } })).json()).toEqual({ paid: true, attempt: 2 });
  });
});
