import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readProperty } from './read-property.js';

/** Resolves the caller a key belongs to: keys are namespaced per principal. */
export type PrincipalResolver = (req: IncomingMessage) => string | undefined | Promise<string | undefined>;

/**
 * The default principal: a hash of the credentials the request carries (its
 * `Authorization` header and the named cookies), or none when it carries none. So two
 * callers with different credentials never share a key space, without the middleware
 * knowing how they authenticate; a replay never goes to other credentials. Only a
 * truncated sha256 is kept, never the credentials themselves.
 *
 * @example credentialPrincipal(['session'])(req) // 'cred:3q2-7w…' or undefined
 */
export function credentialPrincipal(cookieNames: readonly string[] = []): (req: IncomingMessage) => string | undefined {
  const wanted = new Set(cookieNames);
  return (req) => {
    const headers = readProperty<IncomingMessage['headers']>(req, 'headers');
    const authorization = headers.authorization;
    // The common anonymous request: nothing to hash, nothing to allocate.
    if ((authorization === undefined || authorization === '') && (wanted.size === 0 || headers.cookie === undefined)) return undefined;
    const parts: string[] = [];
    if (authorization !== undefined && authorization !== '') parts.push(`authorization=${authorization}`);
    if (wanted.size > 0) {
      for (const [name, value] of namedCookies(headers.cookie, wanted)) parts.push(`cookie:${name}=${value}`);
    }
    if (parts.length === 0) return undefined;
    // NUL cannot occur in a header value, so the parts cannot run into each other.
    return `cred:${createHash('sha256').update(parts.join('\0')).digest('base64url').slice(0, 22)}`;
  };
}

/** A trusted header's value as the principal (set by a gateway that authenticated the caller). */
export function headerPrincipal(name: string): (req: IncomingMessage) => string | undefined {
  const lower = name.toLowerCase();
  return (req) => {
    const value = req.headers[lower];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined || first === '' ? undefined : first;
  };
}

function namedCookies(header: string | undefined, wanted: ReadonlySet<string>): Array<[string, string]> {
  if (header === undefined) return [];
  const found: Array<[string, string]> = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    if (wanted.has(name)) found.push([name, pair.slice(eq + 1).trim()]);
  }
  // Sorted, so the cookies' order in the header does not change the principal.
  return found.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
}
