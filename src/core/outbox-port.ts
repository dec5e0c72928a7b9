/**
 * What the engine needs of an outbox (`submit-once/outbox` implements it): types only, so
 * the core import carries none of the outbox's code. See `queue` in the options.
 */

/** A submission as the outbox keeps it: what to send again, with the same key. */
export interface HeldRequest {
  method: string;
  url: string;
  /** The request's headers; the outbox keeps only its allow-list and the key header. */
  headers: Iterable<[string, string]>;
  /** A string, bytes, Blob, FormData or URLSearchParams (read into bytes when held). */
  body?: unknown;
  /**
   * fetch's `credentials` mode, kept with it: a cookie-authenticated API on another origin
   * needs `include` at the replay too. Default `same-origin`, as fetch's.
   */
  credentials?: 'omit' | 'same-origin' | 'include';
  /**
   * fetch's other modes, kept with it so a replay means what the attempt meant: `redirect:
   * 'error'` (a redirect to a login page is a failure, not the answer). `mode: 'no-cors'` and
   * `redirect: 'manual'` are refused (`InvalidRequestError`): their answer is opaque, nothing
   * a replay could store or hand back. `keepalive` is not kept: a replay never runs as a page unloads.
   */
  mode?: 'cors' | 'same-origin' | 'no-cors' | 'navigate';
  redirect?: 'follow' | 'error' | 'manual';
  referrerPolicy?: '' | 'no-referrer' | 'no-referrer-when-downgrade' | 'origin' | 'origin-when-cross-origin' | 'same-origin' | 'strict-origin' | 'strict-origin-when-cross-origin' | 'unsafe-url';
  cache?: 'default' | 'force-cache' | 'no-cache' | 'no-store' | 'only-if-cached' | 'reload';
  integrity?: string;
  /** The header that carries the key, as sent (its value in `headers`). */
  keyHeader: string;
  key: string;
  fingerprint: string;
  /**
   * When the key was made: a server may have seen it since (an attempt whose reply was
   * lost), and its retention counts from then, so the outbox's does too.
   */
  keyCreatedAt?: number;
  /**
   * The submission's own rule for an answer (its `classify`), kept in memory while it waits
   * in this page (a function cannot be stored): true ends the request with that answer even
   * where the outbox's classifier would replay it again. It never keeps one the outbox ends.
   */
  isFinal?: (answer: Response, now: number) => Promise<boolean>;
}

export interface OutboxPort {
  /** True when a request sent now cannot reach the network (`navigator.onLine` false). */
  offline(): boolean;
  /**
   * Keeps the request durably, then resolves with `answer`: the final answer its replay
   * gets (or a rejection: cancelled, expired). Rejects, keeping nothing, when it cannot
   * keep it (full, no IndexedDB): the caller is told before anything is lost. `signal`
   * stops the wait only (`answer` rejects with `SubmissionAbortedError`): it is still sent.
   */
  hold(request: HeldRequest, signal?: AbortSignal): Promise<{ id: string; answer: Promise<Response> }>;
  /**
   * Tells of each request the outbox got a final answer for, in this page or reported here
   * (held by a page since closed, sent by the service worker): its key is done with. Those
   * reported before the listener came are told at once, with `at`, when they were reported.
   */
  onAnswer?(listener: (request: { key: string; fingerprint: string; at?: number }) => void): () => void;
}

/** How a submission describes itself for the outbox: its request, given the key. */
export type HeldRequestOf = (key: string) => Omit<HeldRequest, 'key' | 'fingerprint' | 'keyCreatedAt' | 'isFinal'>;
