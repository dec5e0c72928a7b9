/**
 * What the middleware's steps pass along for one request, as one object instead of a
 * list of parameters: the request and its response, what runs the application, and what
 * the middleware instance shares with every request (options, audit, events).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Audit } from './audit.js';
import type { IdempotencyEvent } from './events.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { ResolvedOptions } from './options.js';

/** Runs the application: `next()` in Express, the wrapped handler in `node:http`. */
export type Proceed = () => unknown;

/** Records an event in the audit (under its storage key, when it has one) and tells `onEvent`. */
type Emit = (storageKey: string | undefined, event: IdempotencyEvent) => void;

/** One middleware instance: made once by `idempotency()`, shared by every request. */
export interface MiddlewareState {
  readonly opts: ResolvedOptions;
  readonly audit: Audit;
  readonly emit: Emit;
  /**
   * Tells `onEvent` alone; undefined when nobody listens, so the request path builds the
   * events it counts in the audit directly only when someone does.
   */
  readonly tell: ((event: IdempotencyEvent) => void) | undefined;
  /** Renews the leases of every running handler. */
  readonly leases: LeaseKeeper;
}

/** One request on its way through the middleware. */
export interface RequestContext extends MiddlewareState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly proceed: Proceed;
}
