/** The entity tags a page has seen, by URL: what `If-Match` is filled from. */

/** The entity tags seen, by URL (absolute, without its fragment). */
export interface Versions {
  get(url: string): string | undefined;
  /** A weak tag (`W/"3"`) is kept as its opaque tag (`"3"`): see `strong`. */
  remember(url: string, etag: string): void;
  forget(url: string): void;
}

/** PATCH and PUT: the methods that update a resource in place. */
export const UPDATE_METHODS: readonly string[] = ['PATCH', 'PUT'];

export function createVersions(): Versions {
  const seen = new Map<string, string>();
  return {
    get: (url) => seen.get(absolute(url)),
    remember: (url, etag) => void seen.set(absolute(url), strong(etag)),
    forget: (url) => void seen.delete(absolute(url)),
  };
}

/**
 * If-Match compares strongly, so a weak tag sent back never matches and every save would
 * get 412, the version just read included. A weak tag reaching the page is most often the
 * origin's strong one weakened by a compressing proxy (nginx gzip, `compression`) for the
 * same version: its opaque tag lets the origin compare; an origin whose strong tag differs
 * still refuses.
 */
function strong(etag: string): string {
  return etag.replace(/^W\/(?="[^"]*"$)/, '');
}

/** One spelling per resource: `/orders/7`, `./orders/7#x` and the full URL are one entry. */
function absolute(url: string): string {
  const resolved = new URL(url, (globalThis as { location?: { href: string } }).location?.href ?? 'http://localhost/');
  resolved.hash = '';
  return resolved.href;
}

/** The current version a 412 carries: its `ETag` header, else the problem's `etag`; and the problem's `current`. */
export function currentOf(etagHeader: string | null | undefined, problem: unknown): { etag: string | undefined; current: unknown } {
  const body = (typeof problem === 'object' && problem !== null ? problem : {}) as { etag?: unknown; current?: unknown };
  return { etag: etagHeader ?? (typeof body.etag === 'string' ? body.etag : undefined), current: body.current };
}
