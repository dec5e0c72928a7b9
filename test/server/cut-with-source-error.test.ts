/**
 * A handler that cuts its answer off with its source's error (a `pipeline` callback that
 * logs and goes on, an upstream socket's `read ECONNRESET` passed to `res.destroy`): the
 * error is a system error (it has a `syscall`), but not the caller's. The cut watch took
 * any such error for the caller's reset, so the key stayed in flight: 409 to each retry
 * for `maxRunMs` (5 minutes by default), then unknown, where `res.destroy()` without it
 * turns the key unknown at once.
 */
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import express, { type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { idempotency } from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const OUTCOME_UNKNOWN = 'https://submit-once.dev/problems/outcome-unknown';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CUTS: Array<[string, (res: ServerResponse) => void]> = [
  [
    "res.destroy(the upstream socket's read ECONNRESET) mid-body",
    (res) => {
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.write('part');
      const upstreamReset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
      setTimeout(() => res.destroy(upstreamReset), 20);
    },
  ],
  [
    'pipeline(a file stream failing with EISDIR, res, callback that only logs)',
    (res) => {
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      // Reading a directory fails at its first read, syscall 'read'; pipeline destroys res with it.
      pipeline(createReadStream(tmpdir()), res, () => undefined);
    },
  ],
];

describe("a handler that cuts its answer off with its source's system error: the key turns unknown at once", () => {
  it.each(CUTS)('%s', async (_name, cut) => {
    let runs = 0;
    const url = await serve(
      idempotency().handler((_req, res) => {
        runs++;
        cut(res);
      }),
    );
    await post(`${url}/orders`, { key: 'cut', body: {} }).catch(() => undefined);
    await sleep(50);
    const retry = await post(`${url}/orders`, { key: 'cut', body: {} });
    expect({ status: retry.status, type: retry.json().type }).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
  });

  it.each(CUTS)('Express, %s', async (_name, cut) => {
    let runs = 0;
    const mw = idempotency();
    const app = express();
    app.use(express.json(), mw);
    app.post('/orders', (_req: Request, res: Response) => {
      runs++;
      cut(res);
    });
    const url = await serve(app);
    await post(`${url}/orders`, { key: 'cut', body: {} }).catch(() => undefined);
    await sleep(50);
    const retry = await post(`${url}/orders`, { key: 'cut', body: {} });
    expect({ status: retry.status, type: retry.json().type }).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
  });
});
