/** A response as kept for replay: status, allow-listed headers and the exact body bytes. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Uint8Array;
  /**
   * Set when the body exceeded `maxResponseBytes`: the request took effect but only its
   * size is kept, and a replay answers a `response-not-stored` problem (never a truncated body).
   */
  readonly omittedBodyBytes?: number;
}

export interface ClaimRequest {
  /** Storage key: (principal, method, route, key), already combined by the middleware. */
  readonly key: string;
  readonly fingerprint: string;
  readonly leaseMs: number;
  /** How long the record is kept once its lease has run out or it was released (its outcome, its count). */
  readonly retentionMs: number;
  readonly now: number;
  /**
   * Take over a record whose outcome is unknown (lease ran out, or marked unknown) when its
   * fingerprint matches, as a recovery run. False: such a record answers `unknown`.
   */
  readonly recover: boolean;
}

/** Why a run is not the key's first: its previous run was released, or its outcome is unknown. */
export type Rerun = 'none' | 'after-release' | 'recovery';

export type ClaimResult =
  | {
      readonly status: 'claimed';
      /** Fencing token: `<n>.<unique>`, n the key's execution count; only its holder may complete, renew, release or mark unknown. */
      readonly token: string;
      /** Runs that have claimed this key, this one included (durable with the durable stores). */
      readonly executions: number;
      readonly rerun: Rerun;
    }
  | { readonly status: 'in-progress'; readonly fingerprint: string; readonly leaseExpiresAt: number }
  | { readonly status: 'unknown'; readonly fingerprint: string; readonly executions: number }
  | { readonly status: 'completed'; readonly fingerprint: string; readonly response: StoredResponse; readonly executions: number };

export interface CompleteRequest {
  readonly key: string;
  /** The token `claim` returned; refused once another claim took the key over. */
  readonly token: string;
  readonly fingerprint: string;
  readonly response: StoredResponse;
  readonly retentionMs: number;
  readonly now: number;
}

export interface RenewRequest {
  readonly key: string;
  readonly token: string;
  readonly leaseMs: number;
  readonly now: number;
}

/** A holder giving up its claim: `release` (no effect happened) or `markUnknown` (one may have). */
export interface SettleRequest {
  readonly key: string;
  readonly token: string;
  /** How long the record (its count, or its unknown state) is kept. */
  readonly retentionMs: number;
  readonly now: number;
}

/**
 * Where keys live. A record is in one of four states:
 *
 * - `in-progress`: claimed, its lease renewed while the handler runs;
 * - `completed`: the response, replayed until its retention ends;
 * - `unknown`: the run may or may not have taken effect (its lease ran out, or its holder
 *   said so). Never freed by time alone: claims answer `unknown` until retention ends,
 *   unless they ask to `recover`;
 * - `released`: the run had no effect; the next claim runs again.
 *
 * Every implementation must make `claim` atomic: of any number of concurrent claims of
 * one free (or recoverable) key, exactly one gets `claimed`. Every claim increments the
 * key's execution count, which is also the fencing number in the token, so a holder
 * that was taken over can no longer complete, renew, release or mark unknown. The shared
 * conformance suite (test/server/conformance.ts) holds every store to this.
 */
export interface IdempotencyStore {
  /** A short name for logs and the audit endpoint, e.g. `memory`. */
  readonly name: string;
  /**
   * True when `complete` commits the handler's own writes together with the outcome (the
   * Postgres store's transactional mode): a completion that fails then means the effect
   * was rolled back, so the handler's answer must not reach the client.
   */
  readonly transactional?: boolean;
  /**
   * The claim and the completion answered at once, for a store whose keys live in this
   * process (the memory store; the file store answers its claim alone at once). Optional;
   * the middleware then skips a promise turn for each (behind Express, `next()` runs in
   * the middleware's own call). The conformance suite holds them to the answers of
   * `claim` and `complete`.
   */
  readonly sync?: SyncStoreOperations | SyncClaimOperations;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Stores the outcome; false when the token no longer holds the key. Accepted from the
   * holder even after its lease ran out (or it was marked unknown) as long as nobody
   * took over: the outcome is then known after all.
   */
  complete(request: CompleteRequest): Promise<boolean>;
  /** Frees a running claim (the handler failed before any effect), if the token still holds it. */
  release(request: SettleRequest): Promise<boolean>;
  /** Turns a running claim into `unknown` at once (e.g. the upstream failed after delivery), if the token still holds it. */
  markUnknown(request: SettleRequest): Promise<boolean>;
  /** Extends a running claim while its handler runs; false when the token no longer holds it. */
  renew(request: RenewRequest): Promise<boolean>;
  /** Drops records past their retention; returns how many. */
  sweep(now: number): Promise<number>;
  /** Drops every record (tests, the demo's reset). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** `IdempotencyStore.sync`: the same contract as `claim` and `complete`, without a promise. */
export interface SyncStoreOperations {
  claim(request: ClaimRequest): ClaimResult;
  complete(request: CompleteRequest): boolean;
}

/**
 * `IdempotencyStore.sync` of a store whose claim is answered at once but whose completion
 * must wait (the file store's `fdatasync`): the middleware completes through `complete`.
 * A claim that cannot be answered at once (the key's completion is not yet durable) is
 * `undefined`: the middleware then asks `claim`, which waits.
 */
export interface SyncClaimOperations {
  claim(request: ClaimRequest): ClaimResult | undefined;
  readonly complete?: undefined;
}

/** Thrown by a store that cannot answer (unreachable, disk error); the middleware fails closed with 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'store-unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStoreUnavailableError(error: unknown): error is StoreUnavailableError {
  return error instanceof Error && (error as { code?: unknown }).code === 'store-unavailable';
}
