import type { ProblemCode } from './problems.js';

/** Where an event happened: the parts of the storage key. `key` is absent when the request had none. */
export interface EventScope {
  readonly key?: string;
  readonly principal?: string;
  readonly method: string;
  readonly route: string;
}

/** What the middleware did with one request; handy for logs and the demo's timeline. */
export type IdempotencyEvent =
  | (EventScope & { readonly type: 'executed' })
  | (EventScope & { readonly type: 'completed'; readonly status: number })
  | (EventScope & { readonly type: 'replayed'; readonly status: number })
  | (EventScope & { readonly type: 'released'; readonly reason: 'threw' | 'server-error' })
  | (EventScope & { readonly type: 'conflict' })
  | (EventScope & { readonly type: 'mismatch' })
  | (EventScope & { readonly type: 'rejected'; readonly problem: ProblemCode })
  | (EventScope & { readonly type: 'response-not-stored'; readonly bytes: number; readonly limit: number })
  | (EventScope & { readonly type: 'lease-lost' })
  | (EventScope & { readonly type: 'store-error'; readonly error: unknown });

export type IdempotencyEventType = IdempotencyEvent['type'];
