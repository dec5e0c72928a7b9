/**
 * The shop's orders API behind the submit-once verifier, with switchable faults, so the
 * page can show what a lost response, a slow server or a 503 does to an order.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { idempotency, type IdempotencyMiddleware, type IdempotentRequest } from '../src/server/index.js';
import { deliveryNotes } from './delivery-notes.js';
import { DEMO_TOKEN_SECRET, TOKEN_ORDERS_PATH, TOKEN_PATH } from './shared/token-mode.js';
// The standalone verifier's paths, so what the README says of the verifier holds here too.
import { RESET_PATH, STATS_PATH } from '../src/server/verifier.js';
import {
  NO_FAULTS,
  SLOW_SERVER_MS,
  cartLabel,
  productBySku,
  type Faults,
  type IntentCount,
  type Order,
  type OrderRequest,
  type OrdersView,
} from './shared/catalog.js';

export { RESET_PATH, STATS_PATH };
const IDEMPOTENCY_HEADER = 'idempotency-key';
const MAX_BODY_BYTES = 64 * 1024;

export interface DemoApi {
  /** Answers API and audit requests; returns false for anything else (the page's assets). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  close(): Promise<void>;
}

export function createDemoApi(): DemoApi {
  // Requests without a key pass through unguarded: that is what "Protection off" sends.
  const verifier = idempotency({ required: false, statsPath: STATS_PATH });
  // Token mode (issue 13): a second verifier that takes only keys it issued.
  const tokenVerifier = idempotency({ tokens: { secrets: [DEMO_TOKEN_SECRET] } });
  const delivery = deliveryNotes((id) => orders.some((order) => order.id === id), verifier);
  let orders: Order[] = [];
  let nextId = 1;
  // Per intent (cart + key, or cart alone without a key), counted as each order is stored.
  const intents = new Map<string, IntentCount>();
  let faults: Faults = NO_FAULTS;
  const failedKeys = new Set<string>();
  // Key-less requests have no identity to fail "first" by: the next one after the switch fails once.
  let failNextKeyless = false;

  async function createOrder(req: IdempotentRequest, res: ServerResponse, onStored: () => void): Promise<void> {
    const key = headerValue(req, IDEMPOTENCY_HEADER);
    const payload = req.body === undefined ? parseJson(await readBody(req)) : Buffer.isBuffer(req.body) ? parseJson(req.body) : req.body;
    const request = parseOrderRequest(payload);
    if (typeof request === 'string') return sendJson(res, 400, { error: request });
    if (faults.slow) await sleep(SLOW_SERVER_MS);
    if (faults.fail503 && (key === null ? failNextKeyless : !failedKeys.has(key))) {
      if (key === null) failNextKeyless = false;
      else failedKeys.add(key);
      return sendJson(res, 503, { error: 'Service unavailable (demo fault: first attempt fails)' });
    }
    const items = request.items.map((line) => {
      const product = productBySku(line.sku);
      return { ...line, name: product?.name ?? line.sku, price: product?.price ?? 0 };
    });
    const order: Order = {
      id: nextId++,
      items,
      total: items.reduce((sum, line) => sum + line.price * line.qty, 0),
      key,
      createdAt: new Date().toISOString(),
    };
    orders = [...orders, order];
    const cart = cartLabel(items);
    // NUL cannot occur in a label or a key header, so two intents cannot share an id.
    const intentId = `${cart}\0${key ?? ''}`;
    intents.set(intentId, { cart, key, orders: (intents.get(intentId)?.orders ?? 0) + 1 });
    onStored();
    sendJson(res, 201, order);
  }

  function postOrder(req: IncomingMessage, res: ServerResponse, guard: IdempotencyMiddleware = verifier): void {
    let stored = false;
    if (faults.loseResponse) {
      // The order must be stored, and the verifier must have recorded the response, before
      // the connection drops: so the drop happens in `end`, which the verifier's own
      // `end` calls only after it stored the response. A replay never runs the handler,
      // so it is not dropped.
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = function dropAfterStoring(this: ServerResponse, ...args: unknown[]): ServerResponse {
        if (!stored) return end(...args);
        req.socket.destroy();
        return this;
      } as ServerResponse['end'];
    }
    guard.handler((guardedReq, guardedRes) =>
      createOrder(guardedReq, guardedRes, () => {
        stored = true;
      }),
    )(req, res);
  }

  async function setFaults(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const patch = parseJson(await readBody(req));
    if (typeof patch !== 'object' || patch === null) return sendJson(res, 400, { error: 'expected a JSON object' });
    const next: Record<keyof Faults, boolean> = { ...faults };
    for (const name of Object.keys(NO_FAULTS) as (keyof Faults)[]) {
      const value = (patch as Record<string, unknown>)[name];
      if (typeof value === 'boolean') next[name] = value;
    }
    if (next.fail503 && !faults.fail503) failNextKeyless = true;
    faults = next;
    sendJson(res, 200, faults);
  }

  function ordersView(): OrdersView {
    const counts = [...intents.values()];
    return { orders, intents: counts, duplicates: counts.reduce((sum, intent) => sum + intent.orders - 1, 0) };
  }

  async function reset(res: ServerResponse): Promise<void> {
    orders = [];
    intents.clear();
    nextId = 1;
    faults = NO_FAULTS;
    failedKeys.clear();
    failNextKeyless = false;
    verifier.resetStats();
    await verifier.store.clear();
    await tokenVerifier.store.clear();
    delivery.reset();
    sendJson(res, 200, { ok: true });
  }

  function route(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (path === STATS_PATH) return verifier.handler(() => sendJson(res, 405, { error: 'GET or DELETE' }))(req, res);
    if (path === '/api/orders' && method === 'POST') return postOrder(req, res);
    if (path === '/api/orders' && method === 'GET') return sendJson(res, 200, ordersView());
    if (path === TOKEN_ORDERS_PATH && method === 'POST') return postOrder(req, res, tokenVerifier);
    if (path === TOKEN_PATH && method === 'GET') return tokenVerifier.issueToken(req).then((issued) => sendJson(res, 200, issued));
    if (path !== undefined && delivery.handle(req, res, path)) return;
    if (path === '/api/faults' && method === 'GET') return sendJson(res, 200, faults);
    if (path === '/api/faults' && method === 'POST') return setFaults(req, res);
    if (path === RESET_PATH && method === 'POST') return reset(res);
    return sendJson(res, 404, { error: `no route ${method} ${path}` });
  }

  return {
    handle(req, res) {
      const path = req.url ?? '/';
      if (!path.startsWith('/api/') && !path.startsWith(STATS_PATH) && !path.startsWith(RESET_PATH)) return false;
      Promise.resolve()
        .then(() => route(req, res))
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: String(error) });
        });
      return true;
    },
    close: async () => {
      await Promise.all([verifier.close(), tokenVerifier.close()]);
    },
  };
}

function parseOrderRequest(value: unknown): OrderRequest | string {
  const items = (value as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length === 0) return 'the cart is empty';
  const lines = [];
  for (const item of items as unknown[]) {
    const { sku, qty } = (item ?? {}) as { sku?: unknown; qty?: unknown };
    if (typeof sku !== 'string' || productBySku(sku) === undefined) return `unknown product ${String(sku)}`;
    if (typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1) return `bad quantity for ${sku}`;
    lines.push({ sku, qty });
  }
  return { items: lines };
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: unknown): unknown {
  if (Buffer.isBuffer(text)) text = text.toString('utf8');
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
