/** Where a handler finds its run's `IdempotencyContext`: `req.idempotency`. */
import type { IncomingMessage } from 'node:http';
import type { IdempotencyContext, IdempotentRequest } from './middleware.js';
import { PrototypeLayer } from './prototype-layer.js';

const contexts = new WeakMap<IncomingMessage, IdempotencyContext>();

/** `req.idempotency` for every request of a prototype, read from `contexts`; assigning it makes it the request's own again. */
const requestLayer = new PrototypeLayer(['idempotency'], () => ({
  idempotency: {
    get(this: IncomingMessage): IdempotencyContext | undefined {
      return contexts.get(this);
    },
    set(this: IncomingMessage, value: unknown): void {
      Object.defineProperty(this, 'idempotency', { value, writable: true, enumerable: true, configurable: true });
    },
    configurable: true,
  },
}));

/**
 * Sets `req.idempotency`: behind Express through a layer above the app's request
 * prototype (a property added to an Express request costs microseconds, see
 * `PrototypeLayer`), else on the request itself.
 */
export function setRunContext(req: IncomingMessage, context: IdempotencyContext): void {
  if (requestLayer.reach(req) !== undefined) contexts.set(req, context);
  else (req as IdempotentRequest).idempotency = context;
}
