import type { IncomingMessage, ServerResponse } from 'node:http';
import { REPLAYED_HEADER } from '../protocol/index.js';
import { InvalidOptionsError } from './invalid-options-error.js';

export interface CorsOptions {
  /** Allowed origins: `*` (default), a list, or a predicate. */
  readonly origin?: '*' | readonly string[] | ((origin: string) => boolean);
  /** Allow cookies and HTTP auth, for an `origin` list or predicate only (not `*`). Default false. */
  readonly credentials?: boolean;
  /** Request headers allowed besides the idempotency header, Content-Type and If-Match. */
  readonly allowHeaders?: readonly string[];
  /** Response headers exposed besides `Idempotent-Replayed`, `Retry-After`, `Date`, `Location` and `ETag`. */
  readonly exposeHeaders?: readonly string[];
  /** Preflight cache lifetime, seconds. Default 600. */
  readonly maxAge?: number;
}

/**
 * Applies CORS headers for a browser front end on another origin. Without them the
 * browser refuses to send `Idempotency-Key` (it is not a safelisted header) and hides
 * `Idempotent-Replayed` from the page. Returns true when it answered a preflight itself.
 */
export function applyCors(
  req: IncomingMessage,
  res: ServerResponse,
  options: CorsOptions,
  idempotencyHeader: string,
): boolean {
  const rule = options.origin ?? '*';
  // An answer for one origin differs from one for another, or for none: a cache that kept
  // one without this would serve it where its CORS headers are wrong or missing.
  if (rule !== '*') res.appendHeader('Vary', 'Origin');
  const origin = req.headers.origin;
  if (origin === undefined || !isAllowed(origin, rule)) return false;
  res.setHeader('Access-Control-Allow-Origin', rule === '*' ? '*' : origin);
  if (options.credentials === true) res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader(
    'Access-Control-Expose-Headers',
    // ETag: an update names the version it read (If-Match), so the page must see it. Date:
    // a Retry-After date is read against it (the server's clock), not the device's.
    [REPLAYED_HEADER, 'Retry-After', 'Date', 'Location', 'ETag', ...(options.exposeHeaders ?? [])].join(', '),
  );
  const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (!isPreflight) return false;
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  res.setHeader(
    'Access-Control-Allow-Headers',
    [idempotencyHeader, 'Content-Type', 'If-Match', ...(options.allowHeaders ?? [])].join(', '),
  );
  res.setHeader('Access-Control-Max-Age', String(options.maxAge ?? 600));
  res.statusCode = 204;
  res.setHeader('Content-Length', '0');
  res.end();
  return true;
}

/**
 * The options, checked. Credentials with every origin allowed would echo any origin with
 * `Access-Control-Allow-Credentials`: what browsers refuse `*` with credentials for (any
 * site reading what the signed-in caller may).
 */
export function checkCors(options: CorsOptions): CorsOptions {
  if (options.credentials === true && (options.origin === undefined || options.origin === '*')) {
    throw new InvalidOptionsError('cors', 'credentials: true needs an origin list or predicate: with every origin allowed, any site could read answers with the caller\'s credentials');
  }
  return options;
}

function isAllowed(origin: string, rule: NonNullable<CorsOptions['origin']>): boolean {
  if (rule === '*') return true;
  if (typeof rule === 'function') return rule(origin);
  return rule.includes(origin);
}
