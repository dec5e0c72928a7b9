import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KEY_HEADER } from '../protocol/index.js';
import type { AuditSnapshot } from './audit.js';
import { applyCors, type CorsOptions } from './cors.js';
import { Drain } from './drain.js';
import { checkNumber, InvalidOptionsError, MAX_TIMER_MS } from './invalid-options-error.js';
import { idempotency, type IdempotencyMiddleware, type RequestHandler } from './middleware.js';
import { requestPath, type IdempotencyOptions } from './options.js';
import { createOrdersApi } from './orders-api.js';
import { proxyTo } from './proxy.js';
import { sendJson } from './respond.js';
import { memoryStore } from './stores/memory.js';
import type { IdempotencyStore } from './stores/types.js';

export const STATS_PATH = '/__submit-once/stats';
export const RESET_PATH = '/__submit-once/reset';
export const HEALTH_PATH = '/__submit-once/health';
/** Token mode only: `GET` answers `{ token, expiresAt, expiresIn }` for the caller. */
export const TOKEN_PATH = '/__submit-once/token';

export interface VerifierOptions extends IdempotencyOptions {
  /** Forward every request here instead of serving the built-in orders API. */
  readonly upstream?: string;
  /**
   * With `upstream`: how long connecting to it may take (at most `maxRunMs`). Nothing was
   * sent before, so the caller gets 502 `upstream-unavailable` and the key is freed for
   * its retry. Default 5000. Refused without `upstream`.
   */
  readonly upstreamConnectTimeoutMs?: number;
  /** The application behind the middleware. Default `createOrdersApi()`; ignored with `upstream`. */
  readonly handler?: RequestHandler & { reset?: () => void };
}

export interface Verifier {
  readonly server: Server;
  readonly middleware: IdempotencyMiddleware;
  /** Starts listening; loopback by default. Resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Stops accepting connections, lets the requests in flight finish for up to `graceMs`
   * (default 0), cuts the rest (a cut run's key turns unknown) and closes the store. A
   * second call while the first waits cuts at once.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>;
  stats(): AuditSnapshot;
  /** Forgets every key, the counters, and the built-in API's orders. */
  reset(): Promise<void>;
}

/**
 * A `node:http` server with the idempotency middleware in front of an application (the
 * built-in orders API, a handler of yours, or an upstream URL), CORS on, and
 * `GET|DELETE /__submit-once/stats`, `POST /__submit-once/reset`, `GET /__submit-once/health`.
 *
 * @example
 * const verifier = createVerifier();
 * const url = await verifier.listen(0);
 */
export function createVerifier(options: VerifierOptions = {}): Verifier {
  const { upstream, upstreamConnectTimeoutMs, handler: custom, ...middlewareOptions } = options;
  if (upstreamConnectTimeoutMs !== undefined) {
    if (upstream === undefined) throw new InvalidOptionsError('upstreamConnectTimeoutMs', 'needs upstream: without it nothing is connected to, and it would be ignored');
    checkNumber('upstreamConnectTimeoutMs', upstreamConnectTimeoutMs, 0, false, MAX_TIMER_MS);
  }
  const handler =
    upstream !== undefined
      ? proxyTo(upstream, {
          ...(middlewareOptions.maxRunMs !== undefined ? { timeoutMs: middlewareOptions.maxRunMs } : {}),
          ...(upstreamConnectTimeoutMs !== undefined ? { connectTimeoutMs: upstreamConnectTimeoutMs } : {}),
          ...(middlewareOptions.maxResponseBytes !== undefined ? { readAheadBytes: middlewareOptions.maxResponseBytes } : {}),
        })
      : (custom ?? createOrdersApi());
  const drain = new Drain();
  // Store calls in flight: a claim answered after its caller hung up still runs the
  // handler, and a cut run's markUnknown must land before the store closes.
  const storeCalls = new Drain();
  const store = countingCalls(middlewareOptions.store ?? memoryStore(), [drain, storeCalls]);
  const cors: CorsOptions | undefined =
    middlewareOptions.cors === false ? undefined : middlewareOptions.cors === true || middlewareOptions.cors === undefined ? {} : middlewareOptions.cors;
  const statsPath = middlewareOptions.statsPath ?? STATS_PATH;
  const middleware = idempotency({ ...middlewareOptions, store, cors: cors ?? false, statsPath });
  // Set once close() cuts what still runs.
  let cutOff = false;
  const guarded = middleware.handler((req, res) => {
    // A claim answered after the cut: its caller is gone and the store about to close, so
    // the handler does not start; the throw frees the key (nothing was sent) for the retry.
    if (cutOff) throw new Error('the verifier is stopping');
    const end = drain.begin();
    // A turn later: the middleware settles the run (stores, releases, marks unknown) in
    // its own callback on the handler's result, which must have run before the store closes.
    const endLater = (): void => void setImmediate(end);
    let result: unknown;
    try {
      result = handler(req, res);
    } finally {
      if (result instanceof Promise) result.then(endLater, endLater);
      else endLater();
    }
    return result;
  });

  const reset = async (): Promise<void> => {
    await middleware.store.clear();
    middleware.resetStats();
    (handler as { reset?: () => void }).reset?.();
  };

  let closing: { readonly done: Promise<void>; readonly cut: () => void } | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.once('close', drain.begin());
    // A keep-alive connection would bring more requests while the server drains.
    if (closing !== undefined) res.shouldKeepAlive = false;
    const path = requestPath(req);
    if (path === TOKEN_PATH && middlewareOptions.tokens !== undefined) {
      if (cors !== undefined && applyCors(req, res, cors, middlewareOptions.header ?? KEY_HEADER)) return;
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' }, { Allow: 'GET' });
      middleware.issueToken(req).then(
        (issued) => sendJson(res, 200, issued),
        (error: unknown) => sendJson(res, 500, { error: String(error) }),
      );
      return;
    }
    // The middleware serves GET, HEAD and DELETE there and passes other methods on, to the
    // application: here that would send a request for the verifier to the upstream, keyed.
    if (path === statsPath && req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'DELETE') {
      if (cors !== undefined && applyCors(req, res, cors, middlewareOptions.header ?? KEY_HEADER)) return;
      return sendJson(res, 405, { error: 'use GET or DELETE' }, { Allow: 'GET, HEAD, DELETE' });
    }
    if (path === RESET_PATH || path === HEALTH_PATH) {
      if (cors !== undefined && applyCors(req, res, cors, middlewareOptions.header ?? KEY_HEADER)) return;
      if (path === HEALTH_PATH) {
        // The verifier's own path: any other method is a mistake to name, not a probe that
        // passed (nor a request for the upstream, which never sees /__submit-once/ paths).
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'use GET' }, { Allow: 'GET, HEAD' });
        return sendJson(res, 200, { ok: true, store: middleware.store.name });
      }
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' }, { Allow: 'POST' });
      reset().then(
        () => sendJson(res, 200, { reset: true }),
        (error: unknown) => sendJson(res, 503, { error: String(error) }),
      );
      return;
    }
    guarded(req, res);
  });

  return {
    server,
    middleware,
    listen: (port = 0, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shown}:${address.port}`);
        });
      }),
    close: (options = {}) => {
      if (closing !== undefined) {
        closing.cut();
        return closing.done;
      }
      let cut!: () => void;
      const graceOver = new Promise<void>((resolve) => (cut = resolve));
      const timer = setTimeout(cut, options.graceMs ?? 0);
      const done = (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.race([drain.idle(), graceOver]);
        clearTimeout(timer);
        cutOff = true;
        server.closeAllConnections();
        await closed;
        // The cut runs' markUnknown (made as their connections closed) and what else is in flight.
        await storeCalls.idle();
        await middleware.close();
      })();
      closing = { done, cut };
      return done;
    },
    stats: () => middleware.stats(),
    reset,
  };
}

/** The store's calls that settle a request (or start one), each counted in `drains` until a turn after it settles. */
const COUNTED = new Set<PropertyKey>(['claim', 'complete', 'release', 'markUnknown', 'renew']);

/**
 * `store`, with each of its calls in `COUNTED` counted in flight in every drain until a
 * turn after it settles: by then a claim's handler has started (and counts on its own).
 * Its other members, `sync` included, are the store's own.
 */
function countingCalls(store: IdempotencyStore, drains: readonly Drain[]): IdempotencyStore {
  // Not the store itself as the Proxy's target: a Proxy must give back a frozen target's
  // own methods unwrapped (a TypeError at each call of a frozen store's), and one that
  // inherits from it has no own property to hold it to that.
  return new Proxy(Object.create(store) as IdempotencyStore, {
    get(_stand, name) {
      const value: unknown = Reflect.get(store, name, store);
      if (typeof value !== 'function') return value;
      if (!COUNTED.has(name)) return value.bind(store) as unknown;
      return (...args: unknown[]): unknown => {
        const ends = drains.map((drain) => drain.begin());
        const endLater = (): void => void setImmediate(() => ends.forEach((end) => end()));
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(store, args);
        } finally {
          if (result instanceof Promise) result.then(endLater, endLater);
          else endLater();
        }
        return result;
      };
    },
  });
}
