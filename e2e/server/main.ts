/**
 * The e2e test server: fixture pages, the SDK bundled for the browser, and a recording
 * orders API the specs steer. Started by Playwright's `webServer`:
 *   node --import tsx e2e/server/main.ts
 */
import { createServer } from 'node:http';
import { E2E_PORT } from '../support/env.js';
import { bundleFixtures } from './bundle.js';
import { OrdersApi, sendJson } from './orders-api.js';
import { pageHtml } from './pages.js';

const bundle = await bundleFixtures();
const api = new OrdersApi();

const server = createServer((req, res) => {
  // No socket is ever reused: Chromium silently resends a request once when a reused
  // keep-alive socket dies before the response, which would make drop counts flaky.
  res.setHeader('connection', 'close');
  res.setHeader('cache-control', 'no-store');
  const url = new URL(req.url ?? '/', 'http://e2e.invalid');
  api
    .handle(req, res, url)
    .then((handled) => {
      if (handled) return;
      if (req.method === 'GET' && url.pathname === '/__health') return sendJson(res, 200, { ok: true });
      if (req.method === 'GET' && url.pathname === '/outbox-sw.js') {
        // At the root, so its scope covers the fixture pages.
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(bundle.files.get('outbox-sw.js'));
        return;
      }
      if (req.method === 'GET' && url.pathname.startsWith('/build/')) {
        const code = bundle.files.get(url.pathname.slice('/build/'.length));
        if (code !== undefined) {
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
          res.end(code);
          return;
        }
      }
      const html = req.method === 'GET' ? pageHtml(url.pathname) : undefined;
      if (html !== undefined) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
        return;
      }
      sendJson(res, 404, { error: `no route for ${req.method ?? ''} ${url.pathname}` });
    })
    .catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
});

server.listen(E2E_PORT, '127.0.0.1', () => {
  console.log(`e2e server on http://127.0.0.1:${E2E_PORT} (${[...bundle.files.keys()].join(', ')})`);
});

function stop(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
