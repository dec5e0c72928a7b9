/**
 * Optimistic concurrency for fetch (opt-in, its own entry): remembers each resource's
 * `ETag` from its GET (and from each successful update) and sends it as `If-Match` on
 * PATCH and PUT, so an update goes only over the version this page saw. A 412 becomes a
 * `PreconditionFailedError` carrying the current version.
 *
 * Wraps any fetch, `idempotentFetch` included: put it outside, so the key and its retries
 * carry the same `If-Match`, and the verifier replays an update that already succeeded
 * instead of the handler answering 412 to its own earlier success.
 */
import { PreconditionFailedError } from './precondition-failed-error.js';
import { createVersions, currentOf, UPDATE_METHODS, type Versions } from './versions.js';

export type FetchLike<Init> = (input: RequestInfo | URL, init?: Init) => Promise<Response>;

export interface IfMatchOptions {
  /** Methods that send `If-Match`. Default PATCH and PUT. */
  methods?: readonly string[];
}

export interface IfMatchFetch<Init> extends FetchLike<Init> {
  readonly versions: Versions;
}

/**
 * @example
 * const api = createIfMatchFetch(idempotentFetch)
 * await api('/api/orders/7')                                   // remembers ETag "3"
 * await api('/api/orders/7', { method: 'PATCH', body })        // If-Match: "3"
 */
export function createIfMatchFetch<Init extends RequestInit = RequestInit>(
  fetchFn: FetchLike<Init> = globalThis.fetch.bind(globalThis) as FetchLike<Init>,
  options: IfMatchOptions = {},
): IfMatchFetch<Init> {
  const methods = new Set((options.methods ?? UPDATE_METHODS).map((m) => m.toUpperCase()));
  const versions = createVersions();

  const ifMatchFetch = (async (input: RequestInfo | URL, init?: Init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    let sent = init;
    if (methods.has(method)) {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const etag = versions.get(url);
      // A caller's own If-Match wins; without a version seen, the server decides (428 or a blind write).
      if (etag !== undefined && !headers.has('if-match')) headers.set('If-Match', etag);
      sent = { ...init, headers } as Init;
    }
    const response = await fetchFn(input, sent);
    if (response.status === 412 && methods.has(method)) {
      const { etag, current } = currentOf(response.headers.get('etag'), await response.clone().json().catch(() => undefined));
      throw new PreconditionFailedError(url, etag, current, { cause: response });
    }
    const etag = response.headers.get('etag');
    if (response.ok && etag !== null && (method === 'GET' || methods.has(method))) versions.remember(url, etag);
    return response;
  }) as IfMatchFetch<Init>;
  Object.defineProperty(ifMatchFetch, 'versions', { value: versions });
  return ifMatchFetch;
}
