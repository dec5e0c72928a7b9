/**
 * An expired token that found its key free (its first use): the claim it just made is
 * released before the refusal, so nothing ran and the key stays free. Only a token whose
 * key was claimed before it expired gets further (its replay, its 409).
 */
import type { RequestContext } from './request-context.js';

export async function refuseExpiredToken(ctx: RequestContext, storageKey: string, claimToken: string, refuse: () => void): Promise<void> {
  const { opts } = ctx;
  // A failed release leaves the claim to run out its lease (then `outcome-unknown`): the
  // handler still never ran, and the answer is the same refusal.
  await opts.store.release({ key: storageKey, token: claimToken, retentionMs: opts.ttl, now: opts.now() }).catch(() => false);
  refuse();
}
