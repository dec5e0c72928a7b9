import type { IncomingMessage, ServerResponse } from 'node:http';
import { Audit, type AuditSnapshot } from './audit.js';
import { answerBugs, failed, guard } from './guard.js';
import { handOverError } from './execute.js';
import { InvalidOptionsError } from './invalid-options-error.js';
import type { IdempotencyEvent } from './events.js';
import { resolveOptions, type IdempotencyOptions } from './options.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { Proceed } from './request-context.js';
import type { ReadRequest } from './request-body.js';
import type { IdempotencyStore } from './stores/types.js';
import type { IssuedToken } from './tokens.js';

/** What a guarded run knows about its key; handlers that dedupe by key read it. */
export interface IdempotencyContext {
  /** The idempotency key as parsed (a quoted key unquoted). */
  readonly key: string;
  /** The principal the key belongs to; undefined when it has none (no credentials, or `principal: false`). */
  readonly principal: string | undefined;
  /**
   * True when an earlier run of this key may have taken effect (its outcome was unknown)
   * and this run took over (`recovery: true`): look the effect up by (principal, key) first.
   */
  readonly recovery: boolean;
}

/** A request as handlers see it behind the middleware: the body has been read already. */
export interface IdempotentRequest extends ReadRequest {
  /** Set on every guarded run (a request that claimed its key); absent on unguarded requests. */
  idempotency?: IdempotencyContext;
}

export type NextFunction = (error?: unknown) => void;
export type RequestHandler = (req: IdempotentRequest, res: ServerResponse) => unknown;

/** Express/Connect middleware with a wrapper for plain `node:http` handlers and the audit. */
export interface IdempotencyMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** Wraps a `node:http` request handler: `http.createServer(mw.handler(app))`. */
  handler(handler: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Express error middleware: mount it after your routes and before your own error
   * handlers (`app.use(mw.errorHandler)`), so that a handler's `UncertainOutcomeError`
   * turns its key unknown (500 `outcome-unknown`) instead of reaching a handler whose 5xx
   * would free the key for a second run. Any other error goes on to the next handler;
   * if the run's head already went out (so no handler can answer it), its key is freed
   * and the connection dropped first, as `handler` does.
   */
  errorHandler(error: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** Counters and per-key records since start or the last reset. */
  stats(): AuditSnapshot;
  resetStats(): void;
  readonly store: IdempotencyStore;
  /**
   * A one-time key for this request's caller (token mode, the `tokens` option): hand it to
   * the page, which sends it as its key. Writes nothing. Throws without `tokens`.
   */
  issueToken(req: IncomingMessage): Promise<IssuedToken>;
  /** Closes the store. */
  close(): Promise<void>;
}

/**
 * Makes POST and PATCH requests that carry an `Idempotency-Key` take effect once: the
 * first claims the key and runs the handler, later ones with the same key and payload
 * get the stored response replayed with `Idempotent-Replayed: true`.
 *
 * @example
 * app.use(express.json(), idempotency({ principal: (req) => req.user?.id }));
 * http.createServer(idempotency().handler(myHandler));
 */
export function idempotency(options: IdempotencyOptions = {}): IdempotencyMiddleware {
  const opts = resolveOptions(options);
  const audit = new Audit(opts.auditLimit);
  const { onEvent } = opts;
  const tell =
    onEvent === undefined
      ? undefined
      : (event: IdempotencyEvent): void => {
          try {
            onEvent(event);
          } catch {
            // A failing listener must not turn into a failed request.
          }
        };
  const emit = (storageKey: string | undefined, event: IdempotencyEvent): void => {
    audit.record(storageKey, event);
    tell?.(event);
  };
  const leases = new LeaseKeeper(opts);

  const run = (req: IncomingMessage, res: ServerResponse, proceed: Proceed): void => {
    try {
      answerBugs(res, guard({ opts, audit, emit, tell, leases, req, res, proceed }));
    } catch (error) {
      failed(res, error);
    }
  };

  // `next` is only ever called without arguments (as `proceed()`), so it is passed as is.
  const middleware = ((req: IncomingMessage, res: ServerResponse, next: NextFunction) => {
    run(req, res, next);
  }) as IdempotencyMiddleware;

  middleware.handler = (handler: RequestHandler) => (req: IncomingMessage, res: ServerResponse) => {
    run(req, res, () => handler(req as IdempotentRequest, res));
  };
  // Four parameters: Express tells error middleware by its arity.
  middleware.errorHandler = (error: unknown, _req: IncomingMessage, res: ServerResponse, next: NextFunction): void => {
    if (!handOverError(error, res)) next(error);
  };
  middleware.stats = (): AuditSnapshot => audit.snapshot();
  middleware.resetStats = (): void => audit.reset();
  middleware.issueToken = async (req: IncomingMessage): Promise<IssuedToken> => {
    if (opts.tokens === undefined) throw new InvalidOptionsError('tokens', 'issueToken needs the tokens option');
    return opts.tokens.issue(await opts.principal?.(req), opts.now());
  };
  Object.defineProperty(middleware, 'store', { value: opts.store, enumerable: true });
  middleware.close = () => {
    leases.close();
    return opts.store.close();
  };
  return middleware;
}
