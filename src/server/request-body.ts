import type { IncomingMessage } from 'node:http';
import { readBody } from './body.js';

/** What built-in handlers may find on a request once the middleware has read it. */
interface ReadRequest extends IncomingMessage {
  body?: unknown;
  rawBody?: Buffer;
}

/** The request's raw bytes: those the middleware kept, or read now (unguarded requests). */
export async function rawBodyOf(req: IncomingMessage, limit: number): Promise<Buffer> {
  const r = req as ReadRequest;
  if (r.rawBody !== undefined) return r.rawBody;
  if (Buffer.isBuffer(r.body)) return r.body;
  if (r.body !== undefined) return Buffer.from(JSON.stringify(r.body));
  if (req.readableEnded) return Buffer.alloc(0);
  const raw = await readBody(req, limit);
  r.rawBody = raw;
  return raw;
}
