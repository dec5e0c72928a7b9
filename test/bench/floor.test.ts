import express, { type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestHandler } from 'express';
import { floorMiddleware, ourStoreFloor, type FloorKeep } from '../../bench/server/floor.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

// The floor is a yardstick: its cost bounds what any middleware can reach only if it does
// the job. These tests hold it to the answers issue 11 keeps.
describe('express+floor', () => {
  let server: ListeningServer | undefined;
  afterEach(() => server?.close());

  type Keep = FloorKeep | 'our store';
  const floorOf = (keep: Keep): RequestHandler => (keep === 'our store' ? ourStoreFloor() : floorMiddleware({ keep }));

  async function start(handler: (req: Request, res: Response, n: number) => void | Promise<void>, keep: Keep = 'objects'): Promise<{ url: string; runs: () => number }> {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.post('/orders', floorOf(keep), (req, res) => void handler(req, res, ++runs));
    server = await startServer(app);
    return { url: `${server.url}/orders`, runs: () => runs };
  }

  it.each<Keep>(['objects', 'one string', 'our store'])('keeping %s, runs a key once and replays its exact answer; 422 for another payload', async (keep) => {
    const { url, runs } = await start((req, res, n) => void res.status(201).set('Location', `/orders/${n}`).json({ n, nonce: Math.random(), got: req.body as unknown, name: 'thé' }), keep);
    const first = await post(url, { key: 'k1', body: { item: 'tea' } });
    const again = await post(url, { key: 'k1', body: { item: 'tea' } });
    expect((await post(url, { key: 'k1', body: { item: 'coffee' } })).status).toBe(422);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('location')).toBe('/orders/1');
    expect(runs()).toBe(1);
  });

  it.each<Keep>(['objects', 'our store'])('keeping %s, answers 422 to another payload, 400 to a bad key, 409 while the first runs', async (keep) => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { url, runs } = await start(async (_req, res) => {
      await held;
      res.status(201).json({ ok: true });
    }, keep);
    const first = post(url, { key: 'k2', body: { item: 'tea' } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await post(url, { key: 'k2', body: { item: 'tea' } })).status).toBe(409);
    expect((await post(url, { key: 'k2', body: { item: 'coffee' } })).status).toBe(422);
    expect((await post(url, { key: 'a b', body: { item: 'tea' } })).status).toBe(400);
    release();
    expect((await first).status).toBe(201);
    expect(runs()).toBe(1);
  });

  it.each<Keep>(['objects', 'our store'])('keeping %s, lets a 5xx go, so the retry runs', async (keep) => {
    const { url, runs } = await start((_req, res, n) => void res.status(n === 1 ? 503 : 201).json({ n }), keep);
    expect((await post(url, { key: 'k3', body: {} })).status).toBe(503);
    expect((await post(url, { key: 'k3', body: {} })).status).toBe(201);
    expect(runs()).toBe(2);
  });

  // The lower bound keeps only what is in flight: it still refuses a second request then.
  it('forgets an answer once sent when asked, and still answers 409 while in flight', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { url, runs } = await start(async (_req, res, n) => {
      if (n === 1) await held;
      res.status(201).json({ n });
    }, 'nothing');
    const first = post(url, { key: 'k4', body: {} });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await post(url, { key: 'k4', body: {} })).status).toBe(409);
    release();
    await first;
    expect((await post(url, { key: 'k4', body: {} })).json()).toEqual({ n: 2 });
    expect(runs()).toBe(2);
  });
});
