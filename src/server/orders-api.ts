import type { IncomingMessage, ServerResponse } from 'node:http';
import { KEY_HEADER } from '../protocol/index.js';
import type { IdempotentRequest } from './middleware.js';
import { credentialPrincipal } from './principal.js';
import { parseJsonBody, rawBodyOf } from './request-body.js';
import { requestPath, requestQuery } from './options.js';
import { checkIfMatch, etagOf } from './preconditions.js';
import { sendJson } from './respond.js';

export interface Order {
  readonly id: string;
  readonly createdAt: string;
  /** Moved on by every update; its `ETag` is `etagOf(version)`. */
  readonly version: number;
  readonly [field: string]: unknown;
}

export interface OrdersApiOptions {
  /** Clock for `createdAt`. */
  readonly now?: () => number;
  /**
   * Runs before every request; return true when it answered the request itself. The
   * place for fault injection in demos and tests: delay, fail with a 500, drop the socket.
   */
  readonly intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

/** The built-in API the standalone verifier serves: a request handler with its state. */
export interface OrdersApi {
  (req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Every order created, oldest first. */
  orders(): readonly Order[];
  /** Forgets every order (the verifier's reset endpoint calls it). */
  reset(): void;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The verifier's built-in reference app, not part of `submit-once/server` (an
 * application brings its own handler): what `createVerifier()` and the
 * `submit-once-verifier` bin serve without a handler or `--upstream`, and what the tests
 * drive, with `intercept` for faults. A tiny in-memory shop backend: `POST /orders`
 * creates an order from a JSON object and answers 201 with a `Location`; `GET /orders` lists them; `GET /orders/:id` reads one
 * with its `ETag`; `PATCH /orders/:id` updates it only with a matching `If-Match` (412, 428 otherwise);
 * `POST /echo` answers what it received. Each POST /orders is one visible effect, which
 * is what the verifier's audit and the demo count.
 *
 * @example createVerifier({ handler: createOrdersApi({ intercept: failEveryOtherRequest }) })
 */
export function createOrdersApi(options: OrdersApiOptions = {}): OrdersApi {
  const now = options.now ?? Date.now;
  let orders: Order[] = [];
  let sequence = 0;
  // The "unique index" pattern: one order per (principal, key). A recovery run (or any
  // repeat that got past the verifier) finds the order the first run created instead of
  // creating a second one.
  let byKey = new Map<string, Order>();

  const api = (async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (options.intercept !== undefined && (await options.intercept(req, res))) return;
    const path = requestPath(req);
    const method = req.method ?? 'GET';

    if (path === '/orders' && method === 'POST') {
      const fields = parseObject(await rawBodyOf(req, MAX_BODY_BYTES));
      if (fields === undefined) {
        sendJson(res, 400, { error: 'the body must be a JSON object' });
        return;
      }
      const indexKey = orderIndexKey(req);
      const existing = indexKey === undefined ? undefined : byKey.get(indexKey);
      if (existing !== undefined) {
        sendJson(res, 201, existing, { Location: `/orders/${existing.id}` });
        return;
      }
      const order: Order = { ...fields, id: `ord_${++sequence}`, createdAt: new Date(now()).toISOString(), version: 1 };
      orders.push(order);
      if (indexKey !== undefined) byKey.set(indexKey, order);
      sendJson(res, 201, order, { Location: `/orders/${order.id}` });
      return;
    }
    if (path === '/orders' && method === 'GET') {
      sendJson(res, 200, { orders });
      return;
    }
    const one = /^\/orders\/([^/]+)$/.exec(path);
    if (one !== null && (method === 'GET' || method === 'PATCH')) {
      const index = orders.findIndex((o) => o.id === decodeURIComponent(one[1] ?? ''));
      const order = orders[index];
      if (order === undefined) sendJson(res, 404, { error: 'no such order' });
      else if (method === 'GET') sendJson(res, 200, order, { ETag: etagOf(order.version) });
      else await updateOrder(req, res, order, (next) => {
        orders[index] = next;
      });
      return;
    }
    if (path === '/echo') {
      const raw = await rawBodyOf(req, MAX_BODY_BYTES);
      sendJson(res, 200, { method, path, query: requestQuery(req), body: parseJsonBody(raw) ?? raw.toString('utf8') });
      return;
    }
    sendJson(res, 404, { error: `no route for ${method} ${path}` });
  }) as OrdersApi;

  api.orders = () => orders;
  api.reset = () => {
    orders = [];
    sequence = 0;
    byKey = new Map();
  };
  return api;
}

const principalOf = credentialPrincipal();

/**
 * (principal, key) of a request: from the middleware in front, or, behind a proxying
 * verifier, from the forwarded `Idempotency-Key` and the same credential hash the
 * verifier uses by default. Undefined without a key (no dedupe possible).
 */
function orderIndexKey(req: IncomingMessage): string | undefined {
  const run = (req as IdempotentRequest).idempotency;
  if (run !== undefined) return JSON.stringify([run.principal ?? null, run.key]);
  const header = req.headers[KEY_HEADER.toLowerCase()];
  if (typeof header !== 'string' || header === '') return undefined;
  return JSON.stringify([principalOf(req) ?? null, header]);
}

/** PATCH: the fields merged in (never id, createdAt or version), only over the version the caller read. */
async function updateOrder(req: IncomingMessage, res: ServerResponse, order: Order, save: (next: Order) => void): Promise<void> {
  const fields = parseObject(await rawBodyOf(req, MAX_BODY_BYTES));
  if (fields === undefined) {
    sendJson(res, 400, { error: 'the body must be a JSON object' });
    return;
  }
  if (!checkIfMatch(req, res, { etag: etagOf(order.version), representation: order })) return;
  const next: Order = { ...order, ...fields, id: order.id, createdAt: order.createdAt, version: order.version + 1 };
  save(next);
  sendJson(res, 200, next, { ETag: etagOf(next.version) });
}

function parseObject(raw: Buffer): Record<string, unknown> | undefined {
  const value = raw.length === 0 ? {} : parseJsonBody(raw);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
