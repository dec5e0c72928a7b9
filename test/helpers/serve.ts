import type { RequestListener } from 'node:http';
import { afterEach } from 'vitest';
import { startServer, type ListeningServer } from './http-server.js';

/**
 * For a test file: `serve(listener)` runs it as a real HTTP server and gives its URL; every
 * server a test started is closed after that test.
 */
export function serverPerTest(): (listener: RequestListener) => Promise<string> {
  const servers: ListeningServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  return async (listener) => {
    const server = await startServer(listener);
    servers.push(server);
    return server.url;
  };
}
