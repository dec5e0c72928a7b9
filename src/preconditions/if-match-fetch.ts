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

type FetchLike<Init> = (input: RequestInfo | URL, init?: Init) => Promise<Response>;

export interface IfMatchOptions {
  /** Methods that send `If-Match`. Default PATCH and PUT. */
  methods?: readonly string[];
}

/** The entity tags seen, by URL (absolute, without its fragment). */
export interface Versions {
  get(url: string): string | undefined;
  remember(url: string, etag: string): void;
  forget(url: string): void;
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
  const methods = new Set((options.methods ?? ['PATCH', 'PUT']).map((m) => m.toUpperCase()));
  const seen = new Map<string, string>();
  const urlOf = (url: string): string => {
    const absolute = new URL(url, (globalThis as { location?: { href: string } }).location?.href ?? 'http://localhost/');
    absolute.hash = '';
    return absolute.href;
  };
  const versions: Versions = {
    get: (url) => seen.get(urlOf(url)),
    remember: (url, etag) => void seen.set(urlOf(url), etag),
    forget: (url) => void seen.delete(urlOf(url)),
  };

  const ifMatchFetch = (async (input: RequestInfo | URL, init?: Init) => {
    const url = urlOf(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    let sent = init;
    if (methods.has(method)) {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const etag = seen.get(url);
      // A caller's own If-Match wins; without a version seen, the server decides (428 or a blind write).
      if (etag !== undefined && !headers.has('if-match')) headers.set('If-Match', etag);
      sent = { ...init, headers } as Init;
    }
    const response = await fetchFn(input, sent);
    if (response.status === 412 && methods.has(method)) throw await preconditionFailed(url, response);
    const etag = response.headers.get('etag');
    if (response.ok && etag !== null && (method === 'GET' || methods.has(method))) seen.set(url, etag);
    return response;
  }) as IfMatchFetch<Init>;
  Object.defineProperty(ifMatchFetch, 'versions', { value: versions });
  return ifMatchFetch;
}

async function preconditionFailed(url: string, response: Response): Promise<PreconditionFailedError> {
  const problem = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { etag?: unknown; current?: unknown } | undefined;
  const etag = response.headers.get('etag') ?? (typeof problem?.etag === 'string' ? problem.etag : undefined);
  return new PreconditionFailedError(url, etag, problem?.current, response);
}
