/** Another origin's API that redirects every POST to its login page (a session gone), for `redirect: 'error'` specs. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SECURE_ORIGIN } from './env.js';

export interface RedirectingApi {
  url: string;
  /** Every request, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

/** Another origin's API (CORS for the page's origin) that answers every POST with a 303 to its login page. */
export async function startRedirectingApi(): Promise<RedirectingApi> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('access-control-allow-origin', SECURE_ORIGIN);
    res.setHeader('connection', 'close');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '' });
      res.end();
      return;
    }
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') res.writeHead(303, { location: '/login' }).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Sign in</h1>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/orders`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
