import { randomUUID } from 'node:crypto';

// A random prefix per process plus a counter: unique across processes sharing a store
// (Redis), and no entropy drawn per request, which showed up in profiles.
const processPrefix = randomUUID().slice(0, 13);
let counter = 0;

/** A claim token: proves which holder may complete, renew or release a claim. Never sent to clients. */
export function newClaimToken(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${processPrefix}-${counter.toString(36)}`;
}
