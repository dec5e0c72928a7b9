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
  readonly now: number;
}

export type ClaimResult =
  | { readonly status: 'claimed'; readonly token: string }
  | { readonly status: 'in-progress'; readonly fingerprint: string; readonly leaseExpiresAt: number }
  | { readonly status: 'completed'; readonly fingerprint: string; readonly response: StoredResponse };

export interface CompleteRequest {
  readonly key: string;
  /** The token `claim` returned; a completion by a holder whose lease was taken over is refused. */
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

/**
 * Where keys live. Every implementation must make `claim` atomic: of any number of
 * concurrent claims of one free key, exactly one gets `claimed`. A claim whose lease has
 * passed, or a completed record past its retention, counts as free. The shared
 * conformance suite (test/server/conformance.ts) holds every store to this.
 */
export interface IdempotencyStore {
  /** A short name for logs and the audit endpoint, e.g. `memory`. */
  readonly name: string;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Stores the outcome; false when the token no longer holds the claim (lease lost). */
  complete(request: CompleteRequest): Promise<boolean>;
  /** Frees a claim at once (the handler threw or answered 5xx), if the token still holds it. */
  release(key: string, token: string): Promise<void>;
  /** Extends a live claim while its handler is still running; false when the lease was lost. */
  renew(request: RenewRequest): Promise<boolean>;
  /** Drops expired records; returns how many. */
  sweep(now: number): Promise<number>;
  /** Drops every record (tests, the demo's reset). */
  clear(): Promise<void>;
  close(): Promise<void>;
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
