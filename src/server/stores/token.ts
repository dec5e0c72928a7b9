import { randomUUID } from 'node:crypto';

// A random prefix per process plus a counter: unique across processes sharing a store
// (Redis), and no entropy drawn per request, which showed up in profiles.
const processPrefix = randomUUID().slice(0, 13);
let counter = 0;

/** The unique part of a claim token; the store prefixes the key's fencing number. */
export function newTokenSuffix(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  // Decimal: a radix other than 10 is a slow path of Number#toString.
  return `${processPrefix}-${counter}`;
}

/**
 * A claim token: `<n>.<unique>`, n the key's execution count (the fencing number). The
 * unique part keeps a token from an older record life (a count restarted after the
 * record expired) from ever matching again. Never sent to clients.
 */
export function claimToken(executions: number, suffix: string = newTokenSuffix()): string {
  return `${executions}.${suffix}`;
}
