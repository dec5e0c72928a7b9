/**
 * `express+floor` (on demand, session 30): a yardstick, not a middleware to use. It does
 * only the work issue 11 says the job needs, each step the plainest way: read the key (400
 * when it is not 1 to 255 visible ASCII characters), one sha256 of the body Express has
 * parsed, one claim in a Map (409 while the first is in flight, 422 for another payload),
 * the answer captured at `end` and kept for an exact replay, the claim let go on a 5xx.
 * No leases, no audit, no eviction, no canonical JSON, no problem bodies, no events: what
 * ours costs beyond it is what ours adds to the work itself.
 *
 * How it keeps an answer (`keep`), each a target of its own:
 * - `objects` (`express+floor`): status, `res.getHeaders()` and the body as heap objects;
 * - `one string` (`express+floor(one string)`): one string a key (the fingerprint, status,
 *   headers and body joined), about the least a store in the heap can keep;
 * - `nothing` (`express+floor(forgets)`): the claim dropped once the answer is sent, nothing
 *   captured. Less than the job (a repeat after the answer runs again), so about the least
 *   a middleware doing these steps behind Express can cost, whatever its store.
 *
 * `ourStoreFloor` (`express+floor(our store)`, session 33) keeps the answer off the heap in
 * this package's memory store, through its `sync` claim and completion, with the default
 * replay headers: the same steps and the same store as ours, without ours' middleware.
 */
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DEFAULT_REPLAY_HEADERS, memoryStore, type SyncStoreOperations } from '../../src/server/index.js';

interface Claim {
  readonly fingerprint: string;
  answer?: { status: number; headers: OutgoingHttpHeaders; body: unknown };
}

export type FloorKeep = 'objects' | 'one string' | 'nothing';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** `one string`'s record: fingerprint, status, headers as JSON, body (latin1 keeps a Buffer's bytes). */
function joined(fingerprint: string, res: Response, body: unknown): string {
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body as Uint8Array);
  return `${fingerprint}\n${res.statusCode}\n${JSON.stringify(res.getHeaders())}\n${bytes.toString('latin1')}`;
}

function replayJoined(record: string, res: Response): void {
  const first = record.indexOf('\n');
  const second = record.indexOf('\n', first + 1);
  const third = record.indexOf('\n', second + 1);
  const headers = JSON.parse(record.slice(second + 1, third)) as Record<string, string>;
  res.status(Number(record.slice(first + 1, second))).set(headers).end(Buffer.from(record.slice(third + 1), 'latin1'));
}

/** The request's key, or undefined once it was answered 400. */
function keyOf(req: Request, res: Response): string | undefined {
  const key = req.headers['idempotency-key'];
  if (typeof key === 'string' && KEY.test(key)) return key;
  res.status(400).end();
  return undefined;
}

const fingerprintOf = (body: unknown): string => createHash('sha256').update(JSON.stringify(body)).digest('base64');

export function floorMiddleware({ keep = 'objects' }: { keep?: FloorKeep } = {}): RequestHandler {
  const kept = new Map<string, Claim | string>();
  return (req: Request, res: Response, next: NextFunction) => {
    const key = keyOf(req, res);
    if (key === undefined) return;
    const fingerprint = fingerprintOf(req.body);
    const found = kept.get(key);
    if (found !== undefined) {
      const foundFingerprint = typeof found === 'string' ? found.slice(0, found.indexOf('\n')) : found.fingerprint;
      if (foundFingerprint !== fingerprint) res.status(422).end();
      else if (typeof found === 'string') replayJoined(found, res);
      else if (found.answer === undefined) res.status(409).end();
      else res.status(found.answer.status).set(found.answer.headers).end(found.answer.body);
      return;
    }
    const claim: Claim = { fingerprint };
    kept.set(key, claim);
    const end = res.end;
    res.end = function (this: Response, ...args: Parameters<Response['end']>) {
      if (keep === 'nothing' || res.statusCode >= 500) kept.delete(key);
      else if (keep === 'one string') kept.set(key, joined(fingerprint, res, args[0]));
      else claim.answer = { status: res.statusCode, headers: res.getHeaders(), body: args[0] };
      return end.apply(this, args);
    } as Response['end'];
    next();
  };
}

const LEASE_MS = 60_000;
const RETENTION_MS = 24 * 60 * 60 * 1000;

export function ourStoreFloor(): RequestHandler {
  const store = memoryStore();
  const sync = store.sync as SyncStoreOperations;
  return (req: Request, res: Response, next: NextFunction) => {
    const key = keyOf(req, res);
    if (key === undefined) return;
    const fingerprint = fingerprintOf(req.body);
    const claim = sync.claim({ key, fingerprint, leaseMs: LEASE_MS, retentionMs: RETENTION_MS, now: Date.now(), recover: false });
    if (claim.status !== 'claimed') {
      if (claim.fingerprint !== fingerprint) res.status(422).end();
      else if (claim.status === 'completed') res.status(claim.response.status).set(claim.response.headers).end(claim.response.body);
      else res.status(409).end();
      return;
    }
    const { token } = claim;
    const end = res.end;
    res.end = function (this: Response, ...args: Parameters<Response['end']>) {
      const { statusCode } = res;
      if (statusCode >= 500) {
        void store.release({ key, token, retentionMs: RETENTION_MS, now: Date.now() });
        return end.apply(this, args);
      }
      const chunk = args[0];
      const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? chunk : Buffer.alloc(0);
      const headers: Record<string, string> = {};
      for (const name of DEFAULT_REPLAY_HEADERS) {
        const value = res.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      sync.complete({ key, token, fingerprint, response: { status: statusCode, headers, body }, retentionMs: RETENTION_MS, now: Date.now() });
      return end.apply(this, args);
    } as Response['end'];
    next();
  };
}
