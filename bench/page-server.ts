/**
 * What the browser benches share: a loopback server for one bundled page and its POSTs,
 * and headless Chromium (the system's when there is one, else Playwright's own).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from '@playwright/test';

interface PageServer {
  readonly url: string;
  close(): void;
}

/** Serves `code` as the page's module at `/`; any other request is an order, answered 201 with `answer(n)`. */
async function servePage(code: string, answer: (order: number) => string = () => '{"id":1}'): Promise<PageServer> {
  let orders = 0;
  const server = createServer((req, res) => {
    if (req.url === '/') {
      // Cross-origin isolated, so performance.now() has 5 µs resolution instead of 100 µs.
      res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end('<!doctype html><script type="module" src="/page.js"></script>');
    } else if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cross-origin-resource-policy': 'same-origin' });
      res.end(code);
    } else {
      req.resume();
      req.on('end', () => {
        orders += 1;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(answer(orders));
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://localhost:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  return chromium.launch({
    ...(executablePath ? { executablePath } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Serves `code`, opens it in headless Chromium once the page has defined `global` (its
 * entry point), hands `use` the page (and the browser, for tracing), and closes both after.
 */
export async function withBenchPage<T>(
  code: string,
  global: string,
  use: (page: Page, browser: Browser) => Promise<T>,
  answer?: (order: number) => string,
): Promise<T> {
  const server = await servePage(code, answer);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // localhost is a secure context, as most apps' dev and production origins are.
    await page.goto(server.url);
    await page.waitForFunction((name) => name in window, global);
    return await use(page, browser);
  } finally {
    await browser.close();
    server.close();
  }
}
