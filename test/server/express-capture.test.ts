import { ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { createGzip } from 'node:zlib';
import { runInNewContext } from 'node:vm';
import express, { type NextFunction, type Request, type Response } from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore, type IdempotentRequest } from '../../src/server/index.js';
import { startServer } from '../helpers/http-server.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();

const METHODS = ['writeHead', 'write', 'end'] as const;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether anything still holds the objects `refs` point at, after full collections. */
async function stillHeld(refs: readonly WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await sleep(20);
    collectGarbage();
  }
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

/** A compression-like middleware: it wraps `end` on the response instance and logs what goes through. */
function wrapEnd(log: string[], label: string) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const end = res.end;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      log.push(`${label}:${String(args[0])}`);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as Response['end'];
    next();
  };
}

/**
 * What `compression()` does to a response, reduced: it wraps the response's methods on
 * the instance; when the head goes out it says gzip, unless the answer says an encoding
 * already, and every byte written from then on goes through gzip.
 */
function gzipResponses(_req: Request, res: Response, next: NextFunction): void {
  const write = res.write as (...a: unknown[]) => boolean;
  const end = res.end as (...a: unknown[]) => ServerResponse;
  const writeHead = res.writeHead as (...a: unknown[]) => ServerResponse;
  let gzip: ReturnType<typeof createGzip> | undefined;
  res.writeHead = function (this: Response, ...args: unknown[]) {
    if (this.getHeader('Content-Encoding') === undefined) {
      this.setHeader('Content-Encoding', 'gzip');
      this.removeHeader('Content-Length');
      gzip = createGzip();
      gzip.on('data', (chunk: Buffer) => write.call(res, chunk));
      gzip.on('end', () => end.call(res));
    }
    return writeHead.apply(this, args);
  } as Response['writeHead'];
  res.write = function (this: Response, chunk: unknown) {
    // As compression(): the head goes out (through `this.writeHead`) before the first byte.
    if (!this.headersSent) this.writeHead(this.statusCode);
    return gzip === undefined ? write.call(this, chunk) : gzip.write(chunk);
  } as Response['write'];
  res.end = function (this: Response, chunk?: unknown) {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (gzip === undefined) return end.call(this, chunk);
    if (chunk !== undefined && typeof chunk !== 'function') gzip.write(chunk);
    gzip.end();
    return this;
  } as Response['end'];
  next();
}

describe('response capture behind Express', () => {
  it('adds no property to the response or the request (each one costs microseconds there), and replays the exact answer', async () => {
    let runs = 0;
    const own: string[] = [];
    const keys: unknown[] = [];
    const app = express();
    app.use(express.json());
    app.post('/orders', idempotency(), (req: Request, res: Response) => {
      runs++;
      own.push(...METHODS.filter((name) => Object.hasOwn(res, name)), ...(Object.hasOwn(req, 'idempotency') ? ['idempotency'] : []));
      keys.push((req as IdempotentRequest).idempotency);
      res.status(201).type('text/plain');
      res.write('order ');
      res.end(String(runs));
    });
    const url = await serve(app);
    const first = await post(`${url}/orders`, { key: 'x1', body: { item: 'tea' } });
    const again = await post(`${url}/orders`, { key: 'x1', body: { item: 'tea' } });
    expect(first.status).toBe(201);
    expect(first.text).toBe('order 1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe('order 1');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(runs).toBe(1);
    expect(own).toEqual([]);
    expect(keys).toEqual([{ key: 'x1', principal: undefined, recovery: false }]);
  });

  it('stores each answer when runs overlap and end in another order than they began', async () => {
    const pending: (() => void)[] = [];
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.post('/orders', idempotency(), (req: Request, res: Response) => {
      const run = ++runs;
      // The first run ends last, after the captures of the two later ones began.
      pending.push(() => res.status(201).json({ run, item: (req.body as { item: string }).item }));
      if (pending.length === 3) for (const end of pending.reverse()) end();
    });
    const url = await serve(app);
    const firsts = await Promise.all(['a', 'b', 'c'].map((key) => post(`${url}/orders`, { key, body: { item: key } })));
    const agains = await Promise.all(['a', 'b', 'c'].map((key) => post(`${url}/orders`, { key, body: { item: key } })));
    expect(firsts.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(agains.map((r) => r.headers.get('idempotent-replayed'))).toEqual(['true', 'true', 'true']);
    expect(agains.map((r) => r.text)).toEqual(firsts.map((r) => r.text));
    expect(runs).toBe(3);
  });

  it('hands a second end, after the answer went out, to the response\'s own method, as without the middleware', async () => {
    let answered: Response | undefined;
    const app = express();
    app.use(express.json());
    app.post('/orders', idempotency(), (_req: Request, res: Response) => {
      answered = res;
      res.status(201).end('ok');
    });
    const url = await serve(app);
    expect((await post(`${url}/orders`, { key: 'twice', body: {} })).text).toBe('ok');
    // Node's own end calls back with ERR_STREAM_ALREADY_FINISHED; a capture would swallow the call.
    const code = await new Promise<unknown>((resolve) => {
      answered!.end((error?: Error | null) => resolve((error as { code?: string } | null | undefined)?.code));
      setTimeout(() => resolve('no answer'), 1_000);
    });
    expect(code).toBe('ERR_STREAM_ALREADY_FINISHED');
  });

  it('works with a middleware that wraps end before it and one after it: each sees its own calls', async () => {
    let runs = 0;
    const log: string[] = [];
    const app = express();
    app.use(express.json());
    app.post('/orders', wrapEnd(log, 'before'), idempotency(), wrapEnd(log, 'after'), (_req: Request, res: Response) => {
      runs++;
      res.status(201).send(`order ${runs}`);
    });
    const url = await serve(app);
    const first = await post(`${url}/orders`, { key: 'x2', body: { item: 'tea' } });
    const again = await post(`${url}/orders`, { key: 'x2', body: { item: 'tea' } });
    expect([first.text, again.text]).toEqual(['order 1', 'order 1']);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toBe(1);
    // The replay goes out through the wrapper before the guard; the one after it only saw the run.
    expect(log).toEqual(['after:order 1', 'before:order 1', 'before:order 1']);
  });

  it('leaves the unguarded requests and answers of the same app alone, before and after guarded ones', async () => {
    const app = express();
    app.use(express.json());
    app.use(idempotency());
    app.get('/status', (req: Request, res: Response) => {
      res.json({ ok: true, context: (req as IdempotentRequest).idempotency ?? null });
    });
    app.post('/orders', (req: Request, res: Response) => {
      const seen = (req as IdempotentRequest).idempotency?.key;
      // A handler may still set the property itself.
      (req as IdempotentRequest).idempotency = { key: 'mine', principal: undefined, recovery: false };
      res.status(201).json({ seen, set: (req as IdempotentRequest).idempotency?.key });
    });
    const url = await serve(app);
    expect(await (await fetch(`${url}/status`)).json()).toEqual({ ok: true, context: null });
    expect((await post(`${url}/orders`, { key: 'x3', body: {} })).json()).toEqual({ seen: 'x3', set: 'mine' });
    const status = await fetch(`${url}/status`);
    expect(status.headers.get('idempotent-replayed')).toBeNull();
    expect(await status.json()).toEqual({ ok: true, context: null });
  });

  it('keeps capturing after the app is mounted into another one (Express re-parents its prototypes then)', async () => {
    let runs = 0;
    const orders = express();
    orders.use(express.json());
    orders.post('/orders', idempotency(), (_req: Request, res: Response) => {
      runs++;
      res.status(201).json({ id: runs });
    });
    const direct = await serve(orders);
    expect((await post(`${direct}/orders`, { key: 'x4', body: {} })).json()).toEqual({ id: 1 });
    const outer = express();
    outer.use('/v1', orders);
    const mounted = await serve(outer);
    const first = await post(`${mounted}/v1/orders`, { key: 'x5', body: {} });
    const again = await post(`${mounted}/v1/orders`, { key: 'x5', body: {} });
    expect(first.json()).toEqual({ id: 2 });
    expect(again.json()).toEqual({ id: 2 });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toBe(2);
  });

  it('keeps capturing when the request leaves the sub-app whose guard claimed it (Express puts the outer prototypes back)', async () => {
    // The guard is the orders app's, mounted at /api beside a users app: a keyed POST for
    // the users app passes through it, claims its key, and is answered by the users app.
    // Express sets each app's prototypes on the way in and the outer ones back on the way
    // out, so the answer goes through neither the orders app's prototypes nor their layer.
    let runs = 0;
    const seen: unknown[] = [];
    const orders = express();
    orders.use(express.json(), idempotency());
    orders.post('/orders', (_req: Request, res: Response) => {
      res.status(201).json({ order: true });
    });
    const users = express();
    users.post('/users', (req: Request, res: Response) => {
      runs++;
      seen.push((req as IdempotentRequest).idempotency);
      res.status(201).json({ user: runs });
    });
    const app = express();
    app.use('/api', orders);
    app.use('/api', users);
    const url = await serve(app);
    const first = await post(`${url}/api/users`, { key: 'u1', body: {} });
    const again = await post(`${url}/api/users`, { key: 'u1', body: {} });
    expect(first.json()).toEqual({ user: 1 });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json()).toEqual({ user: 1 });
    expect(runs).toBe(1);
    expect(seen).toEqual([{ key: 'u1', principal: undefined, recovery: false }]);
  });

  it('replays without the Content-Encoding that a compressing middleware before it added to the head: it kept the bytes before their encoding', async () => {
    let runs = 0;
    const app = express();
    app.use(gzipResponses);
    app.use(express.json(), idempotency());
    app.post('/report', (_req: Request, res: Response) => {
      runs++;
      // In chunks: the head goes out, with its Content-Encoding, before the answer ends.
      res.status(201).type('text/plain');
      res.write('part one, ');
      res.end(`part two of run ${runs}`);
    });
    const url = await serve(app);
    const first = await post(`${url}/report`, { key: 'gz', body: {} });
    expect(first.headers.get('content-encoding')).toBe('gzip');
    expect(first.text).toBe('part one, part two of run 1');
    const again = await post(`${url}/report`, { key: 'gz', body: {} });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe('part one, part two of run 1');
    expect(runs).toBe(1);
  });

  it('answers the problem instead of the handler\'s answer when a transactional store cannot commit', async () => {
    let runs = 0;
    const memory = memoryStore();
    let failCommit = true;
    const store: IdempotencyStore = {
      ...memory,
      transactional: true,
      complete: async (request) => (failCommit ? false : memory.complete(request)),
    };
    const app = express();
    app.use(express.json());
    app.post('/orders', idempotency({ store }), (_req: Request, res: Response) => {
      runs++;
      res.status(201).set('ETag', '"v1"').json({ id: runs });
    });
    app.get('/status', (_req: Request, res: Response) => {
      res.json({ ok: true });
    });
    const url = await serve(app);
    const refused = await post(`${url}/orders`, { key: 'x6', body: {} });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('etag')).toBeNull();
    expect(refused.json()).toMatchObject({ status: 503 });
    expect(await (await fetch(`${url}/status`)).json()).toEqual({ ok: true });
    failCommit = false;
    await memory.clear();
    const retried = await post(`${url}/orders`, { key: 'x6', body: {} });
    expect(retried.status).toBe(201);
    expect(retried.json()).toEqual({ id: 2 });
  });

  it('steps aside for methods or `idempotency` an app defines on its prototypes after its first guarded request', async () => {
    let runs = 0;
    const seen: unknown[] = [];
    const app = express();
    app.use(express.json());
    app.post('/orders', idempotency(), (req: Request, res: Response) => {
      runs++;
      seen.push((req as IdempotentRequest).idempotency);
      res.status(201).json({ id: runs });
    });
    const url = await serve(app);
    expect((await post(`${url}/orders`, { key: 'p1', body: {} })).json()).toEqual({ id: 1 });
    // Defined on the app's own prototypes, not delegating to what they shadow: an `end`
    // that goes straight to Node's, as a prototype-level patch may.
    const nodeEnd = ServerResponse.prototype.end;
    const ended: string[] = [];
    Object.defineProperty(app.response, 'end', {
      value: function (this: ServerResponse, ...args: unknown[]) {
        ended.push(String(args[0]));
        return (nodeEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
      },
      writable: true,
      configurable: true,
    });
    Object.defineProperty(app.request, 'idempotency', { value: 'the app\'s own', writable: true, configurable: true });
    const first = await post(`${url}/orders`, { key: 'p2', body: {} });
    const again = await post(`${url}/orders`, { key: 'p2', body: {} });
    expect(first.json()).toEqual({ id: 2 });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json()).toEqual({ id: 2 });
    expect(runs).toBe(2);
    // The answer and its replay, each through the app's own `end`.
    expect(ended).toEqual(['{"id":2}', '{"id":2}']);
    expect(seen).toEqual([
      { key: 'p1', principal: undefined, recovery: false },
      { key: 'p2', principal: undefined, recovery: false },
    ]);
  });

  it('keeps nothing of a response once it is answered, nor of a never-ending one past maxRunMs once its client is gone', async () => {
    const responses: WeakRef<object>[] = [];
    const app = express();
    app.use(express.json());
    app.post(
      '/orders',
      (_req: Request, res: Response, next: NextFunction) => {
        responses.push(new WeakRef(res));
        next();
      },
      idempotency({ leaseMs: 100, maxRunMs: 300 }),
      (req: Request, res: Response) => {
        if ((req.body as { stuck?: boolean }).stuck !== true) res.status(201).json({ ok: true });
      },
    );
    // Started here, not by `serve`: the test cuts its kept-alive connections itself.
    const server = await startServer(app);
    onTestFinished(() => server.close());
    for (const key of ['a', 'b', 'c']) expect((await post(`${server.url}/orders`, { key, body: {} })).status).toBe(201);
    const gone = new AbortController();
    const stuck = fetch(`${server.url}/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'stuck' },
      body: JSON.stringify({ stuck: true }),
      signal: gone.signal,
    }).catch(() => undefined);
    await sleep(100);
    gone.abort();
    await stuck;
    // Past maxRunMs (300 ms) nothing renews the claim any more, and nothing holds the response.
    await sleep(400);
    server.server.closeAllConnections();
    expect(responses).toHaveLength(4);
    expect(await stillHeld(responses)).toBe(0);
  });

  it('keeps nothing of a never-ending run whose lease was lost (another run took the key over) once its client is gone', async () => {
    const responses: WeakRef<object>[] = [];
    const inner = memoryStore();
    // The claim was taken over (its lease ran out during a store outage, a recovery run claimed it): renewing it fails.
    const lost: IdempotencyStore = { ...inner, renew: async () => false };
    const app = express();
    app.use(express.json());
    app.post(
      '/orders',
      (_req: Request, res: Response, next: NextFunction) => {
        responses.push(new WeakRef(res));
        next();
      },
      idempotency({ store: lost, leaseMs: 40, maxRunMs: 60_000 }),
      () => undefined,
    );
    const server = await startServer(app);
    onTestFinished(() => server.close());
    const gone = new AbortController();
    const stuck = fetch(`${server.url}/orders`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'lost' }, body: '{}', signal: gone.signal }).catch(() => undefined);
    await sleep(100);
    gone.abort();
    await stuck;
    await sleep(100);
    server.server.closeAllConnections();
    expect(responses).toHaveLength(1);
    expect(await stillHeld(responses)).toBe(0);
  });

  it('still stores the answer of a run that ends after it passed maxRunMs, when nobody took over', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.post('/orders', idempotency({ leaseMs: 100, maxRunMs: 200 }), (_req: Request, res: Response) => {
      runs++;
      setTimeout(() => res.status(201).json({ late: runs }), 350);
    });
    const url = await serve(app);
    const first = await post(`${url}/orders`, { key: 'late', body: {} });
    const again = await post(`${url}/orders`, { key: 'late', body: {} });
    expect(first.json()).toEqual({ late: 1 });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json()).toEqual({ late: 1 });
    expect(runs).toBe(1);
  });
});
