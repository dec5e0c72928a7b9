/**
 * The storage key of a request: the store's key and the audit's. One place for its text
 * both ways, since durable stores keep keys across versions.
 */
import type { EventScope } from './events.js';

/**
 * `JSON.stringify([principal, method, route, key])`: JSON keeps the four parts apart
 * whatever characters they contain. The serialiser, not a template literal: a store keeps
 * this string for the key's whole retention, and a concatenated one stayed a tree of
 * string pieces there (about 190 B more per stored key, and the collector's time on
 * node:http doubled).
 */
export function storageKeyOf(principal: string | undefined, method: string, route: string, key: string): string {
  return JSON.stringify([principal ?? null, method, route, key]);
}

/**
 * An st2 token's storage key: `{"principal":…,"token":…}`, the principal and the token, so
 * the token is claimed once whatever the method and route (another one differs in payload
 * fingerprint: 422). An object, not an array: its first character tells it from a route's.
 */
export function tokenStorageKeyOf(principal: string | undefined, token: string): string {
  return JSON.stringify({ principal: principal ?? null, token });
}

/** True for a key made by `storageKeyOf`, whose text holds its method and route. */
export function holdsRoute(storageKey: string): boolean {
  return storageKey.charCodeAt(0) === 0x5b; // '['
}

/** The scope a route's storage key was made from (the audit keeps the key alone for most keys). */
export function scopeOfStorageKey(storageKey: string): EventScope & { readonly key: string } {
  const [principal, method, route, key] = JSON.parse(storageKey) as [string | null, string, string, string];
  return principal === null ? { key, method, route } : { key, principal, method, route };
}
