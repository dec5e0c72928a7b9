import { randomBytes } from 'node:crypto';

/** A claim token: proves which holder may complete, renew or release a claim. */
export function newClaimToken(): string {
  return randomBytes(12).toString('base64url');
}
