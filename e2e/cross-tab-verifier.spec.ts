/**
 * Issue 10's last case against the real verifier, with effects counted at the handler: the
 * tab that owns an in-flight submission closes while the handler runs; the other tab, which
 * was waiting on it, takes the claim over with the same key and gets the owner's order.
 * The handler runs once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { idempotency } from '../src/server/index.js';
import { bundleDialectsPage } from './dialects/bundle-page.js';
import type { DialectOutcome } from './dialects/page.js';

test.describe.configure({ mode: 'serial' });

const HANDLER_MS = 2_500;
const PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="/page.js"></script></body></html>';

let server: Server;
let origin = '';
/** Every request that reached the handler (the origin), and every POST that reached the server. */
const executions: (string | undefined)[] = [];
const arrivals: (string | undefined)[] = [];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  const script = await bundleDialectsPage();
  const orders = idempotency().handler((req, res) => {
    executions.push(req.idempotency?.key);
    const orderId = `order-${executions.length}`;
    setTimeout(() => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ orderId, key: req.idempotency?.key }));
    }, HANDLER_MS);
  });
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // No socket reuse: Chromium resends a POST once on a dead keep-alive socket.
    res.setHeader('connection', 'close');
    if (req.method === 'POST' && req.url === '/orders') {
      arrivals.push(req.headers['idempotency-key'] as string | undefined);
      orders(req, res);
      return;
    }
    const [type, body] = req.url === '/page.js' ? ['text/javascript', script] : ['text/html', PAGE];
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function open(page: Page): Promise<void> {
  await page.goto(origin);
  await page.waitForFunction(() => 'dialects' in window);
  await page.evaluate(() => window.dialects.setup());
}

const submit = (page: Page) => page.evaluate(() => window.dialects.fetch('/orders', { sku: 'TAB', qty: 1 }));

test('owner tab closed mid-flight: the waiting tab finishes with the same key, and the handler ran once', async ({ context }) => {
  const owner = await context.newPage();
  const waiter = await context.newPage();
  await open(owner);
  await open(waiter);

  void submit(owner).catch(() => undefined);
  await expect.poll(() => executions.length).toBe(1);
  const waiting: Promise<DialectOutcome> = submit(waiter);
  // The waiter found the owner's claim: it sends nothing while the owner lives.
  await waiter.waitForTimeout(300);
  expect(arrivals).toHaveLength(1);

  await owner.close();
  const outcome = await waiting;

  // The takeover met the handler still running (409, waited out) or its stored answer: the
  // owner's order, replayed, under the owner's key.
  expect(outcome).toEqual({ ok: true, status: 201, body: { orderId: 'order-1', key: arrivals[0] } });
  expect(executions).toEqual([arrivals[0]]);
  expect(arrivals.length).toBeGreaterThanOrEqual(2);
  expect(new Set(arrivals)).toEqual(new Set([arrivals[0]]));
});

// The owner's script paused in the debugger stands in for a tab the browser froze (headless
// Chromium does not freeze a visible page): alive, its lock held, answering nothing.
test('owner tab frozen mid-flight: the waiting tab takes over with the same key, and the handler ran once', async ({ context }) => {
  executions.length = 0;
  arrivals.length = 0;
  const owner = await context.newPage();
  const waiter = await context.newPage();
  await open(owner);
  await open(waiter);

  void submit(owner).catch(() => undefined);
  await expect.poll(() => executions.length).toBe(1);
  const cdp = await context.newCDPSession(owner);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  try {
    const outcome = await Promise.race([submit(waiter), waiter.waitForTimeout(12_000).then(() => 'hung' as const)]);
    expect(outcome).toEqual({ ok: true, status: 201, body: { orderId: 'order-1', key: arrivals[0] } });
    expect(executions).toEqual([arrivals[0]]);
    expect(new Set(arrivals)).toEqual(new Set([arrivals[0]]));
  } finally {
    await cdp.send('Debugger.resume').catch(() => undefined);
  }
});
