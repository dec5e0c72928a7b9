/**
 * A caller that hangs up while its answer streams: the handler's effect happened, and
 * what it throws then (`pipeline` rejecting with a premature close, Express's `sendFile`
 * or `download` handing `ECONNABORTED` to `next`) is the hang-up's doing, not a failure
 * before the effect. The key must turn unknown, never be freed for a second run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { idempotency, type IdempotencyEvent } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const OUTCOME_UNKNOWN = 'https://submit-once.dev/problems/outcome-unknown';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A receipt streamed slowly: one line, then nothing until the reader goes away. */
const slowReceipt = (order: number) =>
  new Readable({
    read() {
      if (this.readableLength === 0 && !(this as { sent?: boolean }).sent) {
        (this as { sent?: boolean }).sent = true;
        this.push(`receipt for order ${order}\n`);
      }
    },
  });

/** The handler's effect, then its receipt piped to the caller (the pipeline rejects if the caller hangs up). */
async function orderThenReceipt(res: ServerResponse, runs: { count: number }): Promise<void> {
  runs.count++;
  res.writeHead(201, { 'Content-Type': 'text/plain' });
  await pipeline(slowReceipt(runs.count), res);
}

/** POSTs over HTTP/1.1, reads the first chunk of the answer, then hangs up. */
async function hangUpMidAnswer(url: string, key: string): Promise<void> {
  const abort = new AbortController();
  const res = await fetch(url, { method: 'POST', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' }, body: '{}', signal: abort.signal });
  expect(res.status).toBe(201);
  await res.body!.getReader().read();
  abort.abort();
}

/** The retry's status and problem type, without waiting for a body that may never end (a second run's). */
async function retry(url: string, key: string): Promise<{ status: number; type: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' }, body: '{}' });
  const type = res.headers.get('content-type') === 'application/problem+json' ? ((await res.json()) as { type: unknown }).type : (await res.body?.cancel(), undefined);
  return { status: res.status, type };
}

describe('a caller that hangs up while its answer streams', () => {
  it('node:http: the pipeline rejects after the effect; the key turns unknown and the retry does not run it again', async () => {
    const runs = { count: 0 };
    const events: IdempotencyEvent['type'][] = [];
    const url = await serve(idempotency({ onEvent: (event) => events.push(event.type) }).handler((_req, res) => orderThenReceipt(res, runs)));
    await hangUpMidAnswer(`${url}/orders`, 'gone-1');
    await sleep(50);
    expect(await retry(`${url}/orders`, 'gone-1')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs.count).toBe(1);
    expect(events).not.toContain('released');
  });

  it('Express: the rejection reaches mw.errorHandler after the head went out; the same', async () => {
    const runs = { count: 0 };
    const mw = idempotency();
    const app = express();
    app.use(express.json(), mw);
    app.post('/orders', (_req: Request, res: Response) => orderThenReceipt(res, runs));
    app.use(mw.errorHandler);
    const url = await serve(app);
    await hangUpMidAnswer(`${url}/orders`, 'gone-2');
    await sleep(50);
    expect(await retry(`${url}/orders`, 'gone-2')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs.count).toBe(1);
  });

  it('HTTP/2 (compatibility API): a stream the caller resets mid-answer; the same', async () => {
    const runs = { count: 0 };
    const server = http2.createServer(idempotency().handler((_req, res) => orderThenReceipt(res, runs)) as unknown as Parameters<typeof http2.createServer>[0]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => {
      client.destroy();
      server.close();
    });
    const send = (cut: boolean) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = client.request({ ':method': 'POST', ':path': '/orders', 'idempotency-key': 'gone-3', 'content-type': 'application/json' });
        let status = 0;
        let body = '';
        stream.on('response', (headers) => (status = Number(headers[':status'])));
        stream.on('data', (chunk: Buffer) => {
          body += chunk.toString();
          if (cut) {
            stream.close(http2.constants.NGHTTP2_CANCEL);
            resolve({ status, body });
          }
        });
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
        stream.end('{}');
      });
    expect((await send(true)).status).toBe(201);
    await sleep(50);
    const again = await Promise.race([send(false), sleep(1000).then(() => ({ status: 0, body: 'no answer' }))]);
    expect(again.status).toBe(500);
    expect(JSON.parse(again.body).type).toBe(OUTCOME_UNKNOWN);
    expect(runs.count).toBe(1);
  });
});

describe('a caller that gave up before its answer began (a client timeout during a slow effect)', () => {
  /** The handler calls `started()` when it runs; the caller gives up then, before any answer. */
  function caller(): { started(): void; giveUp(url: string, key: string): Promise<void> } {
    const abort = new AbortController();
    return {
      started: () => abort.abort(),
      giveUp: async (url, key) => {
        await expect(fetch(url, { method: 'POST', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' }, body: '{}', signal: abort.signal })).rejects.toThrow();
      },
    };
  }

  it('node:http: the effect, then the receipt piped to the gone caller rejects; the key turns unknown', async () => {
    let runs = 0;
    const { started, giveUp } = caller();
    const url = await serve(
      idempotency().handler(async (_req, res) => {
        runs++;
        started();
        await sleep(100);
        await pipeline(slowReceipt(runs), res);
      }),
    );
    await giveUp(`${url}/orders`, 'late-1');
    await sleep(200);
    expect(await retry(`${url}/orders`, 'late-1')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
  });

  it('node:http: another error thrown once the caller is gone (the database down, before the effect) still frees the key', async () => {
    let runs = 0;
    const { started, giveUp } = caller();
    const url = await serve(
      idempotency().handler(async (_req, res) => {
        runs++;
        if (runs === 1) {
          started();
          await sleep(100);
          throw new Error('database down');
        }
        res.writeHead(201).end('made');
      }),
    );
    await giveUp(`${url}/orders`, 'late-3');
    await sleep(200);
    expect(await retry(`${url}/orders`, 'late-3')).toEqual({ status: 201, type: undefined });
    expect(runs).toBe(2);
  });

  it("Express: res.sendFile to the gone caller gives ECONNABORTED, passed to next; with mw.errorHandler the key turns unknown, not freed by the app's 500", async () => {
    const receipt = join(mkdtempSync(join(tmpdir(), 'client-gone-')), 'receipt.txt');
    writeFileSync(receipt, 'receipt\n'.repeat(1000));
    let runs = 0;
    const seen: string[] = [];
    const { started, giveUp } = caller();
    const mw = idempotency();
    const app = express();
    app.use(express.json(), mw);
    app.post('/orders', async (_req: Request, res: Response, next: (error: unknown) => void) => {
      runs++;
      started();
      await sleep(100);
      // Without a callback Express drops ECONNABORTED, and the run stays in flight until maxRunMs.
      res.sendFile(receipt, (error) => error && next(error));
    });
    app.use(mw.errorHandler);
    app.use((error: Error & { code?: string }, _req: Request, res: Response, next: (error: unknown) => void) => {
      seen.push(error.code ?? error.message);
      if (res.headersSent) next(error);
      else res.status(500).json({ error: error.message });
    });
    const url = await serve(app);
    await giveUp(`${url}/orders`, 'late-2');
    await sleep(200);
    expect(await retry(`${url}/orders`, 'late-2')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
    // The app's own handlers still see the error (to log it).
    expect(seen).toEqual(['ECONNABORTED']);
  });
});
