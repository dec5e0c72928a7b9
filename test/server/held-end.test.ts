/**
 * What a handler does after its end while that end waits for the store (a transactional
 * commit, a file store's fdatasync): a second send, a throw that Express's error handler
 * answers by destroying the socket. The caller gets the one answer that was stored, whole.
 */
import type { ServerResponse } from 'node:http';
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { fileStore, idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post, type Answer } from '../helpers/post.js';
import { within } from '../helpers/within.js';

const serve = serverPerTest();

/** A store whose `complete` waits for the test to say whether it committed. */
function heldStore(transactional: boolean): { store: IdempotencyStore; commit: Array<(stored: boolean) => void> } {
  const inner = memoryStore();
  const commit: Array<(stored: boolean) => void> = [];
  const { sync: _sync, ...rest } = inner;
  const store: IdempotencyStore = {
    ...rest,
    transactional,
    complete: (request) =>
      new Promise<boolean>((resolve, reject) => {
        commit.push((stored) => (stored ? void inner.complete(request).then(resolve, reject) : resolve(false)));
      }),
  };
  return { store, commit };
}

const shown = (answer: Answer | 'no answer' | string): unknown =>
  typeof answer === 'string' ? answer : [answer.status, answer.headers.get('content-length'), answer.text];

const attempt = (url: string, key: string): Promise<Answer | 'no answer' | string> =>
  within(2000, post(`${url}/orders`, { key, body: {} })).catch((error: unknown) => `failed: ${String((error as { cause?: unknown }).cause ?? error)}`);

describe('a second send while a transactional store commits (its head stays open for a 503)', () => {
  const app = (store: IdempotencyStore, thrown: string[]) => {
    const made = express();
    made.use(express.json(), idempotency({ store }));
    made.post('/orders', (_req: Request, res: Response) => {
      res.status(400).json({ error: 'bad' });
      try {
        res.status(201).json({ id: 'order-123456789', ok: true });
      } catch (error) {
        thrown.push((error as { code?: string }).code ?? String(error));
      }
    });
    return made;
  };

  it('throws ERR_HTTP_HEADERS_SENT, and the first answer goes out whole once committed, as it is replayed', async () => {
    const { store, commit } = heldStore(true);
    const thrown: string[] = [];
    const url = await serve(app(store, thrown));
    const first = attempt(url, 'twice');
    await vi.waitFor(() => expect(commit).toHaveLength(1));
    expect(thrown).toEqual(['ERR_HTTP_HEADERS_SENT']);
    commit[0]!(true);
    expect(shown(await first)).toEqual([400, '15', '{"error":"bad"}']);
    expect(shown(await attempt(url, 'twice'))).toEqual([400, '15', '{"error":"bad"}']);
  });

  it('a commit that fails still answers the one well-formed 503', async () => {
    const { store, commit } = heldStore(true);
    const thrown: string[] = [];
    const url = await serve(app(store, thrown));
    const first = attempt(url, 'twice-503');
    await vi.waitFor(() => expect(commit).toHaveLength(1));
    commit[0]!(false);
    const answer = await first;
    expect(typeof answer === 'string' ? answer : [answer.status, answer.json().type]).toEqual([503, 'https://submit-once.dev/problems/store-unavailable']);
    expect(thrown).toEqual(['ERR_HTTP_HEADERS_SENT']);
  });
});

describe('the end callback when a transactional store could not commit (the answer replaced by a 503)', () => {
  it("fires once the 503 went out, as Node fires it on 'finish': a handler awaiting it goes on", async () => {
    const { store, commit } = heldStore(true);
    const after: string[] = [];
    const url = await serve(
      idempotency({ store }).handler(async (_req, res) => {
        res.statusCode = 201;
        await new Promise<void>((resolve) => res.end('made', resolve));
        after.push('ended');
      }),
    );
    const first = attempt(url, 'end-callback');
    await vi.waitFor(() => expect(commit).toHaveLength(1));
    commit[0]!(false);
    const answer = await first;
    expect(typeof answer === 'string' ? answer : answer.status).toBe(503);
    await vi.waitFor(() => expect(after).toEqual(['ended']), { timeout: 500 });
  });
});

describe("node:http2's compatibility API, a second send while the end waits for the store", () => {
  it.each([
    ['a transactional store', true],
    ['a store that answers later', false],
  ])('(%s) throws as HTTP/2 throws it, and the first answer goes out whole', async (_name, transactional) => {
    const { store, commit } = heldStore(transactional);
    const thrown: string[] = [];
    const server = http2.createServer(
      idempotency({ store }).handler((_req, res: ServerResponse) => {
        res.statusCode = 400;
        res.setHeader('Content-Type', 'application/json');
        res.end('{"error":"bad"}');
        try {
          res.statusCode = 201;
          res.setHeader('Content-Length', '30');
          res.end('{"id":"order-123456789","ok":1}');
        } catch (error) {
          thrown.push((error as { code?: string }).code ?? String(error));
        }
      }) as unknown as Parameters<typeof http2.createServer>[0],
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => {
      client.destroy();
      server.close();
    });
    const answer = new Promise<unknown>((resolve) => {
      const stream = client.request({ ':method': 'POST', ':path': '/orders', 'idempotency-key': 'h2-twice', 'content-type': 'application/json' });
      let head: http2.IncomingHttpHeaders = {};
      let body = '';
      stream.on('response', (headers) => (head = headers));
      stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
      stream.on('end', () => resolve([head[':status'], head['content-length'], body]));
      stream.on('error', (error) => resolve(`failed: ${String(error)}`));
      stream.end('{}');
    });
    await vi.waitFor(() => expect(commit).toHaveLength(1));
    expect(thrown).toEqual(['ERR_HTTP2_HEADERS_SENT']);
    commit[0]!(true);
    expect(await answer).toEqual([400, undefined, '{"error":"bad"}']);
  });
});

describe("Express's own error handler after the end, while the end waits for a file store", () => {
  // Without the middleware the first answer is on the wire when the error handler destroys
  // the socket (headers sent): the caller has it. With the end held, it must still get it.
  const withFileStore = () => {
    const dir = mkdtempSync(join(tmpdir(), 'held-end-'));
    const store = fileStore(join(dir, 'keys.jsonl'), { sweepIntervalMs: 0 });
    onTestFinished(async () => {
      await store.close?.();
      rmSync(dir, { recursive: true, force: true });
    });
    return store;
  };

  it.each([
    ['a second send', (res: Response) => res.status(201).json({ id: 'order-123456789', ok: true })],
    ['a throw', () => {
      throw new Error('after the answer');
    }],
  ])('%s: the caller gets the stored answer, not a reset', async (_name, after) => {
    let runs = 0;
    const app = express();
    app.use(express.json(), idempotency({ store: withFileStore() }));
    app.post('/orders', (_req: Request, res: Response) => {
      runs++;
      res.status(400).json({ error: 'bad' });
      after(res);
    });
    const url = await serve(app);
    expect(shown(await attempt(url, 'held'))).toEqual([400, '15', '{"error":"bad"}']);
    expect(shown(await attempt(url, 'held'))).toEqual([400, '15', '{"error":"bad"}']);
    expect(runs).toBe(1);
  });

  it.each([
    ['commits', true],
    ['cannot commit', false],
  ])('a transactional store that %s: the caller gets the stored answer or the 503, whole, not a reset', async (_name, stored) => {
    const { store, commit } = heldStore(true);
    const app = express();
    app.use(express.json(), idempotency({ store }));
    app.post('/orders', (_req: Request, res: Response) => {
      res.status(400).json({ error: 'bad' });
      res.status(201).json({ id: 'order-123456789', ok: true });
    });
    const url = await serve(app);
    const first = attempt(url, 'held-tx');
    await vi.waitFor(() => expect(commit).toHaveLength(1));
    commit[0]!(stored);
    const answer = await first;
    expect(typeof answer === 'string' ? answer : [answer.status, answer.headers.get('content-type')]).toEqual(
      stored ? [400, 'application/json; charset=utf-8'] : [503, 'application/problem+json'],
    );
  });
});

describe("Express's error handler destroying a kept-alive connection while the end is held, under one guard or two", () => {
  /** The raw answer on a kept-alive connection, and whether the server closed it within 2 s. */
  const keptAlive = (url: string): Promise<{ answer: string; closed: boolean }> =>
    new Promise((resolve) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      let answer = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ answer, closed: false });
      }, 2000);
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ answer, closed: true });
      });
      socket.on('error', () => undefined);
      socket.write('POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\nX-Inner-Key: i\r\nContent-Length: 0\r\n\r\n');
    });

  it.each([
    ['one guard', 1],
    ['two guards, each waiting for its store', 2],
  ])('%s: the held answer goes out whole, then the connection is closed as Express asked', async (_name, guards) => {
    const later = (): IdempotencyStore => {
      const inner = memoryStore();
      const { sync: _sync, ...rest } = inner;
      return { ...rest, complete: (request) => new Promise((resolve) => setTimeout(resolve, 20)).then(() => inner.complete(request)) };
    };
    const app = express();
    app.use(idempotency({ store: later() }));
    if (guards === 2) app.use(idempotency({ store: later(), header: 'X-Inner-Key' }));
    app.post('/orders', (_req: Request, res: Response) => {
      res.status(400).json({ error: 'bad' });
      res.json({ id: 'order-123456789', ok: true });
    });
    const { answer, closed } = await keptAlive(await serve(app));
    expect(answer.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(answer.endsWith('\r\n\r\n{"error":"bad"}')).toBe(true);
    expect(closed).toBe(true);
  });
});

describe('res.destroy() right after the end, while that end waits for a file store (to close the connection)', () => {
  const withFileStore = () => {
    const dir = mkdtempSync(join(tmpdir(), 'held-destroy-'));
    const store = fileStore(join(dir, 'keys.jsonl'), { sweepIntervalMs: 0 });
    onTestFinished(async () => {
      await store.close?.();
      rmSync(dir, { recursive: true, force: true });
    });
    return store;
  };
  const handler = (res: ServerResponse): void => {
    res.statusCode = 201;
    res.end('made');
    res.destroy();
  };

  it.each([
    ['node:http', () => idempotency({ store: withFileStore() }).handler((_req, res) => handler(res))],
    [
      'Express',
      () => {
        const app = express();
        app.use(idempotency({ store: withFileStore() }));
        app.post('/orders', (_req: Request, res: Response) => handler(res));
        return app;
      },
    ],
  ])('%s: the caller gets the stored answer, as without the middleware, not a reset', async (_name, make) => {
    const url = await serve(make());
    expect(shown(await attempt(url, 'destroyed'))).toEqual([201, '4', 'made']);
    expect(shown(await attempt(url, 'destroyed'))).toEqual([201, '4', 'made']);
  });
});
