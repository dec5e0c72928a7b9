/**
 * `express+floor` (on demand, session 30): a yardstick, not a middleware to use. It does
 * only the work issue 11 says the job needs, each step the plainest way: read the key (400
 * when it is not 1 to 255 visible ASCII characters), one sha256 of the body Express has
 * parsed, one claim in a Map (409 while the first is in flight, 422 for another payload),
 * the answer captured at `end` and kept for an exact replay, the claim let go on a 5xx.
 * No leases, no audit, no eviction, no canonical JSON, no problem bodies, no events: a
 * yardstick for what ours adds beyond the work itself. It keeps every answer in the heap,
 * which costs the collector more than a store built for it would.
 *
 * `forget: true` (`express+floor(forgets)`) drops each answer once it is sent, so the Map
 * holds only the requests in flight: less than the job (a repeat after the answer runs
 * again), so about the least a middleware doing these steps behind Express can cost,
 * whatever its store.
 */
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

interface Kept {
  readonly fingerprint: string;
  answer?: { status: number; headers: OutgoingHttpHeaders; body: unknown };
}

const KEY = /^[\x21-\x7e]{1,255}$/;

export function floorMiddleware({ forget = false } = {}): RequestHandler {
  const kept = new Map<string, Kept>();
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !KEY.test(key)) {
      res.status(400).end();
      return;
    }
    const fingerprint = createHash('sha256').update(JSON.stringify(req.body)).digest('base64');
    const found = kept.get(key);
    if (found !== undefined) {
      if (found.fingerprint !== fingerprint) res.status(422).end();
      else if (found.answer === undefined) res.status(409).end();
      else res.status(found.answer.status).set(found.answer.headers).end(found.answer.body);
      return;
    }
    const claim: Kept = { fingerprint };
    kept.set(key, claim);
    const end = res.end;
    res.end = function (this: Response, ...args: Parameters<Response['end']>) {
      if (forget || res.statusCode >= 500) kept.delete(key);
      else claim.answer = { status: res.statusCode, headers: res.getHeaders(), body: args[0] };
      return end.apply(this, args);
    } as Response['end'];
    next();
  };
}
