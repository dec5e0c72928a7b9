import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { sendProblem } from './problems.js';
import { rawBodyOf } from './request-body.js';

// Hop-by-hop headers describe one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * A handler that forwards every request to `upstream` (e.g. `http://127.0.0.1:3000`) and
 * streams the answer back. Behind the middleware the upstream sees each key's request once.
 */
export function proxyTo(upstream: string): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const base = new URL(upstream);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  const basePath = base.pathname.replace(/\/$/, '');

  return async (req, res) => {
    const body = await rawBodyOf(req, MAX_BODY_BYTES);
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    if (body.length > 0) headers['content-length'] = body.length;
    headers['x-forwarded-host'] = req.headers.host;

    await new Promise<void>((resolve) => {
      const outgoing = send(
        { protocol: base.protocol, hostname: base.hostname, port: base.port, method: req.method, path: basePath + (req.url ?? '/'), headers },
        (upstreamRes) => {
          res.statusCode = upstreamRes.statusCode ?? 502;
          for (const [name, value] of Object.entries(upstreamRes.headers)) {
            if (!HOP_BY_HOP.has(name) && value !== undefined) res.setHeader(name, value);
          }
          upstreamRes.on('data', (chunk: Buffer) => res.write(chunk));
          upstreamRes.on('end', () => {
            res.end();
            resolve();
          });
          upstreamRes.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      outgoing.on('error', (error) => {
        if (!res.headersSent) sendProblem(res, 'upstream-unavailable', `The upstream ${base.origin} could not be reached: ${error.message}.`);
        else res.destroy();
        resolve();
      });
      outgoing.end(body);
    });
  };
}
