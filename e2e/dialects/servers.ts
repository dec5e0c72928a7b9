/**
 * Two idempotency servers nobody here wrote, each mounted in front of the same counting
 * handler (issue 9): `express-idempotency` 1.0.6 with its defaults, and
 * `@node-idempotency/core` 1.0.11 wired as its Express plugin (@node-idempotency/express,
 * not installed here) does: 409 + `Retry-After: 1` while in progress, 422 on a key reused
 * with another payload, every answer stored (5xx included) and replayed with
 * `Idempotent-Replayed: true`, errors rendered by Express as HTML.
 *
 * `POST /<server>/orders?lane=L&delayMs=D&fail=N&status=S`: the handler's executions are
 * counted per lane; it waits D ms, and its first N executions answer S (default 503).
 * `GET /__executions?lane=L` reads the count. `GET /` serves `page.html`, `/page.js` its script.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { getSharedIdempotencyService, idempotency as expressIdempotency } from 'express-idempotency';
import { Idempotency, IdempotencyError, IdempotencyErrorCodes } from '@node-idempotency/core';

export const SERVERS = ['express-idempotency', 'node-idempotency'] as const;
export type DialectServerName = (typeof SERVERS)[number];

export interface DialectServers {
  origin: string;
  executions(lane: string): number;
  /** The `Idempotency-Key` of every request the lane's handler ran, in order. */
  keys(lane: string): (string | undefined)[];
  close(): Promise<void>;
}

/** The @node-idempotency memory adapter's behaviour (that package is not installed here). */
class MapStorageAdapter {
  readonly #cache = new Map<string, string>();
  async setIfNotExists(key: string, value: string): Promise<boolean> {
    if (this.#cache.has(key)) return false;
    this.#cache.set(key, value);
    return true;
  }
  async set(key: string, value: string): Promise<void> {
    this.#cache.set(key, value);
  }
  async get(key: string): Promise<string | undefined> {
    return this.#cache.get(key);
  }
}

/** @node-idempotency/express's middleware, reduced to what changes the wire. */
function nodeIdempotency(): express.RequestHandler {
  const core = new Idempotency(new MapStorageAdapter(), {});
  const statusOf: Record<string, number> = {
    [IdempotencyErrorCodes.IDEMPOTENCY_FINGERPRINT_MISSMATCH]: 422,
    [IdempotencyErrorCodes.IDEMPOTENCY_KEY_LEN_EXEEDED]: 400,
    [IdempotencyErrorCodes.IDEMPOTENCY_KEY_MISSING]: 400,
    [IdempotencyErrorCodes.REQUEST_IN_PROGRESS]: 409,
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const request = { headers: req.headers as Record<string, unknown>, body: req.body as Record<string, unknown>, path: req.url, method: req.method };
    core.onRequest<unknown, unknown>(request).then(
      (stored) => {
        if (!stored) {
          const send = res.send.bind(res);
          res.send = (body?: unknown) => {
            const payload = typeof body === 'string' && String(res.getHeader('content-type')).includes('json') ? (JSON.parse(body) as unknown) : body;
            const additional = { statusCode: res.statusCode, 'Content-Type': res.getHeader('content-type') };
            void core.onResponse(request, { additional, ...(res.statusCode < 400 ? { body: payload } : { error: payload }) });
            return send(body);
          };
          next();
          return;
        }
        res.status(Number(stored.additional?.statusCode ?? 200));
        const contentType = stored.additional?.['Content-Type'];
        if (typeof contentType === 'string') res.setHeader('Content-Type', contentType);
        res.setHeader('Idempotent-Replayed', 'true');
        if (stored.body) res.send(stored.body);
        else next(stored.error);
      },
      (error: unknown) => {
        if (!(error instanceof IdempotencyError)) return next(error);
        if (error.code === IdempotencyErrorCodes.REQUEST_IN_PROGRESS) res.setHeader('Retry-After', '1');
        res.status(statusOf[error.code] ?? 500);
        next(error);
      },
    );
  };
}

export async function startDialectServers(page: { html: string; script?: () => string } = { html: '' }): Promise<DialectServers> {
  const executions = new Map<string, number>();
  const keys = new Map<string, (string | undefined)[]>();
  const handler = (req: Request, res: Response) => {
    const lane = String(req.query.lane ?? '');
    keys.set(lane, [...(keys.get(lane) ?? []), req.get('idempotency-key')]);
    const execution = (executions.get(lane) ?? 0) + 1;
    executions.set(lane, execution);
    const delayMs = Number(req.query.delayMs ?? 0);
    setTimeout(() => {
      if (execution <= Number(req.query.fail ?? 0)) res.status(Number(req.query.status ?? 503)).json({ error: 'upstream down', execution });
      else res.status(201).json({ orderId: `${lane}-${execution}`, execution, body: req.body as unknown });
    }, delayMs);
  };

  const app = express();
  // Express's error pages as in production use, without logging each expected 409/417/422.
  app.set('env', 'test');
  app.use(express.json());
  // No socket reuse: Chromium resends a POST once when a reused keep-alive socket dies
  // before the answer, which would add requests this suite does not count on.
  app.use((_req, res, next) => {
    res.setHeader('connection', 'close');
    next();
  });
  const hit = expressIdempotency();
  const service = getSharedIdempotencyService();
  app.post('/express-idempotency/orders', hit, (req, res, next) => {
    // express-idempotency's README: skip the handler when the middleware already answered.
    if (service.isHit(req)) return;
    next();
  }, handler);
  app.post('/node-idempotency/orders', nodeIdempotency(), handler);
  app.get('/__executions', (req, res) => {
    res.json({ executions: executions.get(String(req.query.lane ?? '')) ?? 0 });
  });
  app.get('/', (_req, res) => {
    res.type('html').send(page.html);
  });
  app.get('/page.js', (_req, res) => {
    res.type('text/javascript').send(page.script?.() ?? '');
  });

  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    executions: (lane) => executions.get(lane) ?? 0,
    keys: (lane) => keys.get(lane) ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
