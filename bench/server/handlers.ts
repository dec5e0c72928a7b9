/**
 * The tiny handler every bench target serves, the same in `bench:server` and the
 * in-process harness: POST /orders answers 201 with a small JSON order.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';

let sequence = 0;
const order = (body: unknown): { id: string; body: unknown } => ({ id: `ord_${++sequence}`, body });

/** For node:http: reads the body itself unless a middleware left it on the request. */
export function nodeHandler(req: IncomingMessage & { body?: unknown }, res: ServerResponse): void {
  const respond = (body: unknown): void => {
    const json = JSON.stringify(order(body));
    res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
    res.end(json);
  };
  if (req.body !== undefined) return respond(req.body);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => respond(JSON.parse(Buffer.concat(chunks).toString() || '{}') as unknown));
}

/** For Express, behind `express.json()`. */
export function expressHandler(req: Request, res: Response): void {
  res.status(201).json(order(req.body));
}
