/**
 * The servers `bench:server` compares, as request listeners. Every target serves the same
 * tiny handler: POST /orders answers 201 with a small JSON order.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { getSharedIdempotencyService, idempotency as expressIdempotency } from 'express-idempotency';
import { Idempotency } from '@node-idempotency/core';
import { MemoryStorageAdapter } from '@node-idempotency/storage-adapter-memory';
import { Redis } from 'ioredis';
import { fileStore, idempotency, memoryStore, redisStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/index.js';
import { floorMiddleware, ourStoreFloor } from './floor.js';
import { expressHandler, nodeHandler } from './handlers.js';
import type { TargetName } from './target-names.js';

function expressApp(...middleware: express.RequestHandler[]): express.Express {
  const app = express();
  app.use(express.json());
  app.post('/orders', ...middleware, expressHandler);
  return app;
}

/** @node-idempotency/core wired as its README shows: onRequest before the handler, onResponse after. */
export function nodeIdempotencyCore(): express.RequestHandler {
  const core = new Idempotency(new MemoryStorageAdapter(), {});
  return (req: Request, res: Response, next: NextFunction) => {
    const request = { method: req.method, headers: req.headers as Record<string, unknown>, body: req.body as Record<string, unknown>, path: req.path };
    core.onRequest<unknown, unknown>(request).then(
      (cached) => {
        if (cached !== undefined) {
          res.status(Number(cached.additional?.status ?? 200)).json(cached.body);
          return;
        }
        const json = res.json.bind(res);
        res.json = (body: unknown) => {
          core.onResponse(request, { body, additional: { status: res.statusCode } }).then(
            () => json(body),
            () => json(body),
          );
          return res;
        };
        next();
      },
      (error: unknown) => res.status(409).json({ error: String(error) }),
    );
  };
}

/** The Redis client every Redis target uses (`bench:server`, `in-process.ts --store redis`). */
export function redisClient(url: string): Redis {
  // No auto-pipelining: the store already sends what one turn queues as one command, and
  // ioredis's pipeline around it cost 1.6 KB of allocation a request (session 24).
  return new Redis(url);
}

export async function build(name: TargetName, redisUrl: string | undefined): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const ours = (store: IdempotencyStore): express.RequestHandler =>
    idempotency({ store }) as unknown as express.RequestHandler;
  switch (name) {
    case 'node':
      return nodeHandler;
    case 'node+submit-once':
      return idempotency({ store: memoryStore() }).handler(nodeHandler);
    case 'node+keep': {
      const kept = new Map<string, string>();
      return (req: IncomingMessage, res: ServerResponse) => {
        const key = String(req.headers['idempotency-key']);
        kept.set(key, key.padEnd(300, '.'));
        nodeHandler(req, res);
      };
    }
    case 'express':
      return expressApp();
    case 'express+noop':
      return expressApp((_req: Request, _res: Response, next: NextFunction) => next());
    case 'express+floor':
      return expressApp(floorMiddleware());
    case 'express+floor(one string)':
      return expressApp(floorMiddleware({ keep: 'one string' }));
    case 'express+floor(forgets)':
      return expressApp(floorMiddleware({ keep: 'nothing' }));
    case 'express+floor(our store)':
      return expressApp(ourStoreFloor());
    case 'express+submit-once(memory)':
      return expressApp(ours(memoryStore()));
    case 'express+submit-once(file)':
      return expressApp(ours(fileStore(join(mkdtempSync(join(tmpdir(), 'submit-once-bench-')), 'keys.jsonl'))));
    case 'express+submit-once(redis)': {
      if (redisUrl === undefined) throw new Error('redis target needs a Redis URL');
      return expressApp(ours(redisStore(redisClient(redisUrl), { prefix: `bench-${randomUUID()}:` })));
    }
    case 'express+express-idempotency': {
      const middleware = expressIdempotency();
      // The shared service exists only once the middleware has been created.
      const service = getSharedIdempotencyService();
      return expressApp(middleware, (req: Request, _res: Response, next: NextFunction) => {
        // The README's hit check: the middleware already answered this request.
        if (!service.isHit(req)) next();
      });
    }
    case 'express+@node-idempotency/core':
      return expressApp(nodeIdempotencyCore());
  }
}

