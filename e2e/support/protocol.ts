/** What the specs and the e2e server say to each other over `/__control` and `/__log`. */

/** How the server answers one `/api/orders` request. */
export type Action =
  /** 201 with a JSON body naming the order and the key it saw. */
  | { kind: 'ok'; delayMs?: number }
  /** Any status, e.g. 503 with `retryAfter`. */
  | { kind: 'status'; status: number; retryAfter?: string; delayMs?: number }
  /** The socket is destroyed before any byte of a response: a network error in the page. */
  | { kind: 'drop'; delayMs?: number };

export interface ControlRequest {
  /** Used for the next requests, one each, in order. */
  plan?: Action[];
  /** Used once the plan is used up; `ok` until set. */
  fallback?: Action;
}

export interface LoggedRequest {
  /** 1 for the lane's first request. */
  seq: number;
  method: string;
  path: string;
  host: string;
  /** The `Idempotency-Key` header as sent, or null. */
  key: string | null;
  body: string;
  /** The `Content-Type` header as sent, or null. */
  contentType: string | null;
  /** A multipart body as the origin parsed it with the boundary of `contentType`: field -> value (a file: `name (type): text`). */
  form?: Record<string, string>;
  action: Action['kind'];
  /** Requests of this lane still being answered when this one arrived. */
  inFlight: number;
}

export interface OrderCreated {
  orderId: number;
  key: string | null;
  lane: string;
}
