import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { idempotency, UncertainOutcomeError } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();
const OUTCOME_UNKNOWN = 'https://submit-once.dev/problems/outcome-unknown';

/** The app's own last error handler, as most Express apps have one: a 500 of its own, which frees the key. */
function appErrors(seen: string[]): ErrorRequestHandler {
  return (error: Error, _req, res, next) => {
    seen.push(error.message);
    if (res.headersSent) next(error);
    else res.status(500).json({ error: error.message });
  };
}

/** What `compression()` does before the guard: its own `end` on the response, so the guard wraps the response itself. */
const ownEnd: RequestHandler = (_req, res, next) => {
  const end = res.end.bind(res);
  res.end = ((...args: Parameters<Response['end']>) => end(...args)) as Response['end'];
  next();
};

async function app(handler: (req: Request, res: Response) => unknown, options: { before?: RequestHandler; errorHandler?: boolean } = {}) {
  const mw = idempotency();
  const server = express();
  if (options.before !== undefined) server.use(options.before);
  server.use(express.json(), mw);
  let runs = 0;
  server.post('/charges', (req: Request, res: Response) => {
    runs++;
    return handler(req, res) as void;
  });
  if (options.errorHandler !== false) server.use(mw.errorHandler);
  const seen: string[] = [];
  server.use(appErrors(seen));
  return { url: `${await serve(server)}/charges`, runs: () => runs, mw, seen };
}

describe('UncertainOutcomeError behind Express, with mw.errorHandler mounted', () => {
  it.each([
    ['rejected by an async handler', undefined],
    ['with another middleware on the response first', ownEnd],
  ])('%s: the key turns unknown, and the retry does not run the effect again', async (_name, before) => {
    const { url, runs, mw, seen } = await app(async () => {
      throw new UncertainOutcomeError('provider hung up after the charge request');
    }, { before });
    const first = await post(url, { key: 'c1', body: { amount: 5 } });
    expect(first.status).toBe(500);
    expect(first.json().type).toBe(OUTCOME_UNKNOWN);
    const retry = await post(url, { key: 'c1', body: { amount: 5 } });
    expect(retry.status).toBe(500);
    expect(retry.json().type).toBe(OUTCOME_UNKNOWN);
    expect(runs()).toBe(1);
    expect(mw.stats().totals.unknownOutcomes).toBe(2);
    expect(seen).toEqual([]);
  });

  it('thrown at once: the same', async () => {
    const { url, runs } = await app(() => {
      throw new UncertainOutcomeError('provider hung up');
    });
    expect((await post(url, { key: 'c2', body: {} })).json().type).toBe(OUTCOME_UNKNOWN);
    expect((await post(url, { key: 'c2', body: {} })).json().type).toBe(OUTCOME_UNKNOWN);
    expect(runs()).toBe(1);
  });

  it("passes any other error on to the app's own handler, whose 5xx frees the key as before", async () => {
    const { url, runs } = await app(async () => {
      throw new Error('card declined before any charge');
    });
    const first = await post(url, { key: 'c3', body: {} });
    expect(first.status).toBe(500);
    expect(first.json()).toEqual({ error: 'card declined before any charge' });
    await post(url, { key: 'c3', body: {} });
    expect(runs()).toBe(2);
  });

  it("frees the key of a run whose other error came after its head went out, as mw.handler does: no handler can answer the 5xx that would", async () => {
    const { url, runs, seen } = await app(async (_req, res) => {
      res.status(201).write('{"id":');
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('database gone mid-answer');
    });
    // The connection is dropped: the caller learns nothing but that the answer broke off.
    await expect(post(url, { key: 'c5', body: {} })).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Not 409 (in flight until maxRunMs, 5 min by default) and then outcome-unknown: it runs again.
    await expect(post(url, { key: 'c5', body: {} })).rejects.toThrow();
    expect(runs()).toBe(2);
    expect(seen).toEqual(['database gone mid-answer', 'database gone mid-answer']);
  });

  it.each([
    ['', undefined],
    [', with another middleware on the response first', ownEnd],
  ])('leaves an answer already whole alone%s: an UncertainOutcomeError after the end goes on to the next handler', async (_name, before) => {
    const { url, runs, seen } = await app(async (_req, res) => {
      res.status(201).json({ id: 1 });
      throw new UncertainOutcomeError('after the answer');
    }, { before });
    const first = await post(url, { key: 'c4', body: {} });
    expect(first.status).toBe(201);
    const retry = await post(url, { key: 'c4', body: {} });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(runs()).toBe(1);
    expect(seen).toEqual(['after the answer']);
  });
});
