/**
 * `npm run demo`: the shop page (Vite, in middleware mode) and its orders API on one port,
 * so the page, the API and the verifier's audit share one origin and no proxy is needed.
 */
import { createServer } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { createServer as createViteServer } from 'vite';
import { createDemoApi } from './api.js';

const demoDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(demoDir, '..');
const port = Number(process.env.DEMO_PORT ?? 5173);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`DEMO_PORT must be a port number, got ${process.env.DEMO_PORT}`);
  process.exit(1);
}

const api = createDemoApi();
const server = createServer();

const vite = await createViteServer({
  configFile: false,
  root: demoDir,
  appType: 'spa',
  plugins: [react()],
  // Outside demo/, so the demo leaves no build cache among its sources.
  cacheDir: resolve(repoRoot, 'node_modules/.vite-demo'),
  logLevel: 'warn',
  server: {
    middlewareMode: true,
    hmr: { server },
    fs: { allow: [repoRoot] },
    // Transformed before the first visitor asks, so the first page load is not the slow one.
    warmup: { clientFiles: ['./src/main.tsx'] },
  },
  // Pre-bundled at start: discovering them on first load would reload the page mid-test.
  optimizeDeps: {
    include: ['react', 'react/jsx-runtime', 'react/jsx-dev-runtime', 'react-dom', 'react-dom/client', 'axios'],
  },
});

server.on('request', (req, res) => {
  // No keep-alive: Chromium silently resends a POST whose *reused* connection drops before
  // the answer, which would hide the "lost response" fault from the page and the SDK.
  res.setHeader('Connection', 'close');
  if (api.handle(req, res)) return;
  vite.middlewares(req, res);
});

server.listen(port, () => {
  console.log(`submit-once demo shop: http://localhost:${port}/`);
});

const shutdown = (): void => {
  server.close();
  void Promise.allSettled([vite.close(), api.close()]).then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
