/**
 * The shop's "edit order" resource: each order's delivery note with a version, at
 * `GET|PATCH /api/orders/:id/delivery`. An update names the version it read (`If-Match`)
 * and is refused with 412 and the current note when someone saved in between: two tabs
 * editing one order cannot silently overwrite each other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkIfMatch, etagOf, type IdempotencyMiddleware } from '../src/server/index.js';

export interface DeliveryNote {
  readonly orderId: number;
  readonly note: string;
  readonly version: number;
}

const PATH = /^\/api\/orders\/(\d+)\/delivery$/;

export interface DeliveryNotes {
  /** Answers the delivery routes; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean;
  reset(): void;
}

/** `exists(id)`: whether the order is stored; `verifier`: keys the updates, so a retried save replays. */
export function deliveryNotes(exists: (id: number) => boolean, verifier: IdempotencyMiddleware): DeliveryNotes {
  let notes = new Map<number, DeliveryNote>();
  const current = (orderId: number): DeliveryNote => notes.get(orderId) ?? { orderId, note: '', version: 1 };

  const send = (res: ServerResponse, status: number, value: unknown, etag?: string): void => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    if (etag !== undefined) res.setHeader('ETag', etag);
    res.end(JSON.stringify(value));
  };

  const update = (orderId: number) => (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    const before = current(orderId);
    if (!checkIfMatch(req, res, { etag: etagOf(before.version), representation: before })) return;
    const note = (req.body as { note?: unknown } | undefined)?.note;
    if (typeof note !== 'string' || note.length > 500) return send(res, 400, { error: 'note must be a string of at most 500 characters' });
    const next = { orderId, note, version: before.version + 1 };
    notes.set(orderId, next);
    send(res, 200, next, etagOf(next.version));
  };

  return {
    handle(req, res, path) {
      const match = PATH.exec(path);
      if (match === null) return false;
      const orderId = Number(match[1]);
      if (!exists(orderId)) send(res, 404, { error: 'no such order' });
      else if (req.method === 'GET') send(res, 200, current(orderId), etagOf(current(orderId).version));
      else if (req.method === 'PATCH') verifier.handler(update(orderId))(req, res);
      else send(res, 405, { error: 'GET or PATCH' });
      return true;
    },
    reset: () => {
      notes = new Map();
    },
  };
}
