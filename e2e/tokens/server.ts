/**
 * The real verifier (`createVerifier`, what the bin runs) in token mode, in front of the
 * built-in orders API, serving the test page on the same origin. Its clock can be moved
 * (`skew`) to expire tokens, and its handler counts the effects it ran (`executions`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bundleBrowserEntries } from '../support/bundle.js';
import { createOrdersApi, type OrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { requestPath } from '../../src/server/options.js';

export const TOKEN_SECRET = 'e2e-token-secret-0123456789-abcdefghij';
export const TOKEN_TTL = 10 * 60 * 1000;

export interface TokenServer {
  origin: string;
  verifier: Verifier;
  api: OrdersApi;
  /** Added to the verifier's clock, ms. */
  skew: number;
  /** Effects the handler ran, as `METHOD path`, in order (replays never reach it). */
  executions: string[];
  /** The next POST /orders waits this long (ms) in the handler, once. */
  delayNext: number;
  close(): Promise<void>;
}

const HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>' +
  '<body><button id="order">Order</button><p id="result"></p><script type="module" src="/page.js"></script></body></html>';

/** The token page (e2e/tokens/page.ts) bundled into one script, served by a verifier in token mode. */
export async function startTokenServer(): Promise<TokenServer> {
  const files = await bundleBrowserEntries({ page: 'e2e/tokens/page.ts' });
  // The server serves this one script: a second chunk would have nowhere to load from.
  if (files.size !== 1) throw new Error(`expected one chunk, got ${[...files.keys()].join(', ')}`);
  const script = files.get('page.js')!;
  const state = { skew: 0, executions: [] as string[], delayNext: 0 };
  const api = createOrdersApi({
    intercept: async (req) => {
      if (req.method !== 'GET') state.executions.push(`${req.method} ${requestPath(req)}`);
      if (req.method === 'POST' && state.delayNext > 0) {
        const delay = state.delayNext;
        state.delayNext = 0;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      return false;
    },
  });
  const page = (res: ServerResponse, type: string, body: string): void => {
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const verifier = createVerifier({
    tokens: { secrets: [TOKEN_SECRET], ttl: TOKEN_TTL },
    now: () => Date.now() + state.skew,
    // `reset` too: the verifier's reset forgets the orders with the keys.
    handler: Object.assign(
      (req: IncomingMessage, res: ServerResponse) => {
        const path = requestPath(req);
        if (req.method === 'GET' && path === '/') return page(res, 'text/html; charset=utf-8', HTML);
        if (req.method === 'GET' && path === '/page.js') return page(res, 'text/javascript; charset=utf-8', script);
        return api(req, res);
      },
      { reset: () => api.reset() },
    ),
  });
  const origin = await verifier.listen(0);
  return Object.assign(state, { origin, verifier, api, close: () => verifier.close() });
}
