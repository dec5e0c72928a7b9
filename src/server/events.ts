import type { ProblemCode } from '../protocol/index.js';
import type { Rerun } from './stores/types.js';

/** Where an event happened: the parts of the storage key. `key` is absent when the request had none. */
export interface EventScope {
  readonly key?: string;
  readonly principal?: string;
  readonly method: string;
  readonly route: string;
}

/** What the middleware did with one request; handy for logs and the demo's timeline. */
export type IdempotencyEvent =
  /** A run started; `executions` is the store's count for the key, this run included. */
  | (EventScope & { readonly type: 'executed'; readonly executions: number; readonly rerun: Rerun })
  | (EventScope & { readonly type: 'completed'; readonly status: number })
  | (EventScope & { readonly type: 'replayed'; readonly status: number; readonly executions: number })
  | (EventScope & { readonly type: 'released'; readonly reason: 'threw' | 'server-error' | 'precondition-failed' })
  | (EventScope & { readonly type: 'conflict' })
  | (EventScope & { readonly type: 'mismatch' })
  | (EventScope & { readonly type: 'rejected'; readonly problem: ProblemCode })
  | (EventScope & { readonly type: 'response-not-stored'; readonly bytes: number; readonly limit: number })
  | (EventScope & { readonly type: 'lease-lost' })
  /** Answered `outcome-unknown`: at claim (`claim`), or because this run's outcome became unknown (`run`). */
  | (EventScope & { readonly type: 'outcome-unknown'; readonly at: 'claim' | 'run'; readonly executions?: number })
  /** The handler ran past `maxRunMs`: its lease is no longer renewed. */
  | (EventScope & { readonly type: 'run-overdue'; readonly maxRunMs: number })
  | (EventScope & { readonly type: 'store-error'; readonly error: unknown });

export type IdempotencyEventType = IdempotencyEvent['type'];
