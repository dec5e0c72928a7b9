import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import express, { type Request, type Response } from 'express';
import { describe, expect, it, vi } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import type { CompleteRequest } from '../../src/server/stores/types.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';
import { within } from '../helpers/within.js';

const serve = serverPerTest();

/**
 * A store that answers `complete` through a promise the test settles (as the file store's
 * fdatasync or a Redis round trip does), so the held end's order against it can be seen.
 */
function heldStore(transactional = false): { store: IdempotencyStore; completions: Array<{ request: CompleteRequest; answer(stored: boolean | Error): void }> } {
  const inner = memoryStore();
  const completions: Array<{ request: CompleteRequest; answer(stored: boolean | Error): void }> = [];
  const store: IdempotencyStore = {
    ...inner,
    transactional,
    complete: (request) =>
      new Promise<boolean>((resolve, reject) => {
        completions.push({
          request,
          answer: (stored) => {
            if (stored instanceof Error) return reject(stored);
            // The record is stored when the store says so, as a commit would.
            if (stored) void inner.complete(request).then(() => resolve(true), reject);
            else resolve(false);
          },
        });
      }),
  };
  return { store, completions };
}

describe('a completion answered later by the store (session 27: one promise while it waits)', () => {
  it('the end goes out only once the store has answered, and a retry replays it', async () => {
    const { store, completions } = heldStore();
    const order: string[] = [];
    const url = await serve(idempotency({ store }).handler((_req, res) => res.writeHead(201, { 'Content-Type': 'text/plain' }).end('made')));
    const first = post(`${url}/orders`, { key: 'a1', body: {} }).then((answer) => {
      order.push('answered');
      return answer;
    });
    await vi.waitFor(() => expect(completions).toHaveLength(1));
    order.push('store answers');
    completions[0]!.answer(true);
    const answer = await first;
    expect([answer.status, answer.text]).toEqual([201, 'made']);
    expect(order).toEqual(['store answers', 'answered']);
    const again = await post(`${url}/orders`, { key: 'a1', body: {} });
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([201, 'made', 'true']);
  });

  it('a transactional store that could not commit: the answer is replaced by a 503 problem', async () => {
    const { store, completions } = heldStore(true);
    const url = await serve(
      idempotency({ store }).handler((_req, res) => {
        // Not `writeHead`: its head counts as sent, and could then only be cut off.
        res.statusCode = 201;
        res.setHeader('X-Order', '1');
        res.end('made');
      }),
    );
    const first = post(`${url}/orders`, { key: 'a2', body: {} });
    await vi.waitFor(() => expect(completions).toHaveLength(1));
    completions[0]!.answer(false);
    const answer = await first;
    expect(answer.status).toBe(503);
    expect(answer.headers.get('x-order')).toBeNull();
    expect(answer.headers.get('retry-after')).toBe('1');
  });

  it('a store that fails to complete: the captured answer still goes out, and the store error is told', async () => {
    const { store, completions } = heldStore();
    const events: string[] = [];
    const url = await serve(idempotency({ store, onEvent: (event) => events.push(event.type) }).handler((_req, res) => res.writeHead(201).end('made')));
    const first = post(`${url}/orders`, { key: 'a3', body: {} });
    await vi.waitFor(() => expect(completions).toHaveLength(1));
    completions[0]!.answer(new Error('disk gone'));
    const answer = await first;
    expect([answer.status, answer.text]).toEqual([201, 'made']);
    expect(events).toContain('store-error');
    expect(events).not.toContain('completed');
  });
});

/**
 * Sends `request` as is and reads the raw answer until the server closes. Not
 * `rawRequest`: it half-closes the socket, and Node's server then drops an answer that
 * ends later, with or without the middleware.
 */
function exchange(url: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}

/** A store whose `complete` answers a few ms later, on its own (a file store's fdatasync). */
function laterStore(): IdempotencyStore {
  const inner = memoryStore();
  const { sync: _sync, ...rest } = inner;
  return { ...rest, complete: (request) => new Promise((resolve) => setTimeout(resolve, 10)).then(() => inner.complete(request)) };
}

describe('calls a handler makes after its end, while that end waits for the store: as without the middleware', () => {
  // The most common Express bug (a send that falls through to a second one): without the
  // middleware the second send throws ERR_HTTP_HEADERS_SENT and the first answer goes out whole.
  it.each([
    ['an instant store', memoryStore],
    ['a store that answers later', laterStore],
  ])('Express, a second send after the first (%s): it throws, and the first answer goes out whole', async (_name, makeStore) => {
    const thrown: string[] = [];
    const app = express();
    app.use(express.json(), idempotency({ store: makeStore() }));
    app.post('/orders', (_req: Request, res: Response) => {
      res.status(400).json({ error: 'bad' });
      try {
        res.status(201).json({ id: 'order-123456789', ok: true });
      } catch (error) {
        thrown.push((error as { code?: string }).code ?? String(error));
      }
    });
    const url = await serve(app);
    const first = await within(1000, post(`${url}/orders`, { key: 'twice', body: {} }));
    expect(first === 'no answer' ? first : [first.status, first.text, first.headers.get('content-length')]).toEqual([400, '{"error":"bad"}', '15']);
    expect(thrown).toEqual(['ERR_HTTP_HEADERS_SENT']);
    const again = await post(`${url}/orders`, { key: 'twice', body: {} });
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([400, '{"error":"bad"}', 'true']);
  });

  it('a hook on writeHead mounted after the guard (on-headers: express-session, response-time) still runs when the held end closes the head', async () => {
    const app = express();
    app.use(express.json(), idempotency({ store: laterStore() }));
    app.use((_req: Request, res: Response, next) => {
      const writeHead = res.writeHead as (...args: unknown[]) => Response;
      res.writeHead = function (this: Response, ...args: unknown[]) {
        this.setHeader('X-Response-Time', '1ms');
        return writeHead.apply(this, args);
      } as Response['writeHead'];
      next();
    });
    app.post('/orders', (_req: Request, res: Response) => {
      res.statusCode = 201;
      res.end('made');
    });
    const url = await serve(app);
    const first = await post(`${url}/orders`, { key: 'hook', body: {} });
    expect([first.status, first.text, first.headers.get('x-response-time'), first.headers.get('content-length')]).toEqual([201, 'made', '1ms', '4']);
  });

  it.each([
    ['an instant store', memoryStore],
    ['a store that answers later', laterStore],
  ])('node:http, a write and an end after the end (%s): they fail as Node fails them, and nothing of them goes out', async (_name, makeStore) => {
    const errors: string[] = [];
    const url = await serve(
      idempotency({ store: makeStore() }).handler((_req, res: ServerResponse) => {
        res.on('error', () => undefined);
        res.end('a');
        res.write('b', (error) => errors.push(`write: ${(error as { code?: string } | null | undefined)?.code}`));
        res.end((error?: { code?: string } | null) => errors.push(`end: ${error?.code}`));
      }),
    );
    const answer = await exchange(url, 'POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: late\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    expect(answer.split('\r\n\r\n')[1]).toBe('a');
    await vi.waitFor(() => expect(errors.sort()).toEqual(['end: ERR_STREAM_ALREADY_FINISHED', 'write: ERR_STREAM_WRITE_AFTER_END']));
  });
});
