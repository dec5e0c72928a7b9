/**
 * A token is consumed once per storage key, which holds the method and `route(req)`. Behind
 * a router that sends several paths to one handler, one token would run it once a path;
 * a `route` that maps them to one keeps it to one run (the README's advice).
 */
import express, { type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { idempotency, type IdempotencyOptions } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();
const SECRET = 'route-spelling-test-secret-0123456789-ab';
const SPELLINGS = ['/orders', '/orders/', '/ORDERS'];

async function ordersWithOneToken(options: IdempotencyOptions): Promise<{ created: number; answers: number[] }> {
  let created = 0;
  const mw = idempotency({ tokens: { secrets: [SECRET] }, principal: false, ...options });
  const app = express();
  app.get('/token', async (req: Request, res: Response) => void res.json(await mw.issueToken(req)));
  app.use(express.json(), mw);
  app.post('/orders', (_req: Request, res: Response) => void res.status(201).json({ id: ++created }));
  const url = await serve(app);
  const { token } = (await (await fetch(`${url}/token`)).json()) as { token: string };
  const answers = [];
  for (const path of SPELLINGS) answers.push((await post(`${url}${path}`, { key: token, body: { item: 'tea' } })).status);
  return { created, answers };
}

describe('token mode behind Express, one token sent to three spellings of one route', () => {
  it('runs once a spelling with the default route (the path): the limit the README names', async () => {
    expect(await ordersWithOneToken({})).toEqual({ created: 3, answers: [201, 201, 201] });
  });

  it('runs once with a route that maps the spellings to one; the others are another payload (422)', async () => {
    const route = (req: { url?: string }) => (req.url ?? '').split('?')[0]!.toLowerCase().replace(/\/+$/, '');
    expect(await ordersWithOneToken({ route })).toEqual({ created: 1, answers: [201, 422, 422] });
  });
});
