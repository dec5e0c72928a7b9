/**
 * A handler that cuts off its own answer without throwing (`res.destroy()`, with or
 * without an error, or its connection's `destroy()`, before its `end`): it gave up its
 * answer after its effect may have happened. The key turns unknown at once, not 409 for
 * `maxRunMs` + `leaseMs` (over 5 minutes by default) and unknown only then. A caller
 * that hangs up first is another matter: the handler may still end, and its answer is
 * stored (`claim-lifetime.test.ts`); a destroy after the hang-up changes nothing.
 */
import http2 from 'node:http2';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { idempotency, type IdempotencyEvent } from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const OUTCOME_UNKNOWN = 'https://submit-once.dev/problems/outcome-unknown';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a handler cuts off its answer, once part of it went out (or before, for the last). */
const CUTS: Array<[string, (res: ServerResponse) => unknown]> = [
  ['res.destroy() mid-body', (res) => partThen(res, () => res.destroy())],
  ['res.destroy(error) mid-body', (res) => partThen(res, () => res.destroy(new Error('source failed')))],
  ['res.socket.destroy() mid-body', (res) => partThen(res, () => res.socket!.destroy())],
  ['res.destroy() before any head', (res) => void setTimeout(() => res.destroy(), 20)],
  ['res.destroy() mid-body, then res.end()', (res) => partThen(res, () => (res.destroy(), res.end(' made')))],
  ['pipeline(source, res), the source failing mid-body (pipeline destroys the response, then rejects)', (res) => (res.writeHead(201), pipeline(failingReceipt(), res))],
];

/** A receipt that sends its first line, then fails (a template engine, a file read). */
function failingReceipt(): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return void setTimeout(() => this.destroy(new Error('template failed')), 20);
      sent = true;
      this.push('receipt\n');
    },
  });
}

function partThen(res: ServerResponse, cut: () => void): void {
  res.writeHead(201, { 'Content-Type': 'text/plain' });
  res.write('part');
  setTimeout(cut, 20);
}

/** The first request (cut off: it fails or gets part of an answer), then the retry's status and problem type. */
async function cutThenRetry(url: string, key: string): Promise<{ status: number; type: unknown }> {
  await post(url, { key, body: {} }).catch(() => undefined);
  await sleep(50);
  const retry = await Promise.race([post(url, { key, body: {} }), sleep(2000).then(() => undefined)]);
  if (retry === undefined) return { status: 0, type: 'no answer' };
  return { status: retry.status, type: retry.status === 201 ? undefined : retry.json().type };
}

describe('a handler that cuts off its own answer without throwing: the key turns unknown at once', () => {
  it.each(CUTS)('node:http, %s', async (_name, cut) => {
    let runs = 0;
    const events: IdempotencyEvent['type'][] = [];
    const url = await serve(
      idempotency({ onEvent: (event) => events.push(event.type) }).handler((_req, res) => {
        runs++;
        return cut(res);
      }),
    );
    expect(await cutThenRetry(`${url}/orders`, 'cut')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
    expect(events.filter((type) => type === 'outcome-unknown')).toHaveLength(2);
    expect(events).not.toContain('released');
  });

  it.each(CUTS)('Express, %s', async (_name, cut) => {
    let runs = 0;
    const mw = idempotency();
    const app = express();
    app.use(express.json(), mw);
    app.post('/orders', (_req: Request, res: Response) => {
      runs++;
      return cut(res);
    });
    app.use(mw.errorHandler);
    const url = await serve(app);
    expect(await cutThenRetry(`${url}/orders`, 'cut')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
  });

  it("Express without mw.errorHandler: a throw after the head, whose socket Express's final handler destroys", async () => {
    let runs = 0;
    const app = express();
    app.use(express.json(), idempotency());
    app.post('/orders', async (_req: Request, res: Response) => {
      runs++;
      res.status(201).write('part');
      await sleep(20);
      throw new Error('mail server gone after the charge');
    });
    const url = await serve(app);
    expect(await cutThenRetry(`${url}/orders`, 'cut')).toEqual({ status: 500, type: OUTCOME_UNKNOWN });
    expect(runs).toBe(1);
  });

  it.each([
    ['res.destroy() mid-body', (res: ServerResponse) => res.destroy()],
    ['res.socket.destroy() mid-body (its stream, on the compatibility API)', (res: ServerResponse) => res.socket!.destroy()],
  ])('HTTP/2 (compatibility API), %s', async (_name, cut) => {
    let runs = 0;
    const server = http2.createServer(
      idempotency().handler((_req, res) => {
        runs++;
        partThen(res, () => cut(res));
      }) as unknown as Parameters<typeof http2.createServer>[0],
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => {
      client.destroy();
      server.close();
    });
    const send = () =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const stream = client.request({ ':method': 'POST', ':path': '/orders', 'idempotency-key': 'h2-cut', 'content-type': 'application/json' });
        let status = 0;
        let body = '';
        stream.on('response', (headers) => (status = Number(headers[':status'])));
        stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
        stream.on('close', () => resolve({ status, body }));
        stream.on('error', () => undefined);
        stream.end('{}');
      });
    expect(await send()).toEqual({ status: 201, body: 'part' });
    await sleep(50);
    const again = await Promise.race([send(), sleep(2000).then(() => ({ status: 0, body: 'no answer' }))]);
    expect(again.status).toBe(500);
    expect(JSON.parse(again.body).type).toBe(OUTCOME_UNKNOWN);
    expect(runs).toBe(1);
  });
});

it("a throw after the head still frees the key: the destroy that follows it is the middleware's, no cut", async () => {
  let runs = 0;
  const events: IdempotencyEvent['type'][] = [];
  const url = await serve(
    idempotency({ onEvent: (event) => events.push(event.type) }).handler(async (_req, res) => {
      runs++;
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.write('part');
      await sleep(20);
      throw new Error('database gone mid-answer');
    }),
  );
  await post(`${url}/orders`, { key: 'threw', body: {} }).catch(() => undefined);
  await sleep(50);
  await post(`${url}/orders`, { key: 'threw', body: {} }).catch(() => undefined);
  expect(runs).toBe(2);
  expect(events).toContain('released');
  expect(events).not.toContain('outcome-unknown');
});

describe('a caller that hangs up first: unchanged, the handler may still end and its answer is stored', () => {
  it('node:http: the handler destroys its response once the caller is gone (its close), then ends: the retry gets the replay', async () => {
    let runs = 0;
    const url = await serve(
      idempotency().handler(async (_req, res) => {
        runs++;
        res.writeHead(201, { 'Content-Type': 'text/plain' });
        res.write('part');
        res.on('close', () => res.destroy());
        await sleep(150);
        res.end(' made');
      }),
    );
    const abort = new AbortController();
    const first = await fetch(`${url}/orders`, { method: 'POST', headers: { 'Idempotency-Key': 'gone', 'Content-Type': 'application/json' }, body: '{}', signal: abort.signal });
    await first.body!.getReader().read();
    abort.abort();
    await sleep(300);
    const retry = await post(`${url}/orders`, { key: 'gone', body: {} });
    expect([retry.status, retry.text, retry.headers.get('idempotent-replayed')]).toEqual([201, 'part made', 'true']);
    expect(runs).toBe(1);
  });

  it.each([
    ['cancels its stream', (_client: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream) => stream.close(http2.constants.NGHTTP2_CANCEL)],
    ['closes its connection', (client: http2.ClientHttp2Session) => client.destroy()],
  ])('HTTP/2: the caller %s while the handler runs; the handler ends later: the retry gets the replay', async (_name, hangUp) => {
    let runs = 0;
    const server = http2.createServer(
      idempotency().handler(async (_req, res) => {
        runs++;
        res.writeHead(201, { 'Content-Type': 'text/plain' });
        res.write('part');
        await sleep(150);
        res.end(' made');
      }) as unknown as Parameters<typeof http2.createServer>[0],
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const first = http2.connect(url);
    const again = http2.connect(url);
    onTestFinished(() => {
      first.destroy();
      again.destroy();
      server.close();
    });
    const send = (client: http2.ClientHttp2Session, cut: boolean) =>
      new Promise<{ status: number; replayed: unknown; body: string }>((resolve) => {
        const stream = client.request({ ':method': 'POST', ':path': '/orders', 'idempotency-key': 'h2-gone', 'content-type': 'application/json' });
        let status = 0;
        let replayed: unknown;
        let body = '';
        stream.on('response', (headers) => ((status = Number(headers[':status'])), (replayed = headers['idempotent-replayed'])));
        stream.on('data', (chunk: Buffer) => {
          body += chunk.toString();
          if (cut) hangUp(client, stream);
        });
        stream.on('close', () => resolve({ status, replayed, body }));
        stream.on('error', () => undefined);
        stream.end('{}');
      });
    expect((await send(first, true)).body).toBe('part');
    await sleep(300);
    expect(await send(again, false)).toEqual({ status: 201, replayed: 'true', body: 'part made' });
    expect(runs).toBe(1);
  });
});
