import type { ScriptClient } from './redis-batch.js';

/** INFO from a script: it needs nothing but `eval`, and works where CONFIG is renamed or refused (most managed Redis). */
const MEMORY_INFO = "return redis.call('INFO', 'memory')";

/** How many times a store asks before giving up (an INFO that keeps failing is not the user's problem). */
const ATTEMPTS = 3;

/**
 * Warns once if Redis may evict keys: an evicted record is forgotten, so a retry of a
 * completed request runs its handler again, and a claim evicted while its handler runs
 * lets a concurrent retry run alongside. Every record has an expiry, so the `volatile-*`
 * policies (ElastiCache's default is `volatile-lru`) evict them as readily as `allkeys-*`.
 * Returns the check to call on each claim: a flag test once it is done.
 */
export function evictionCheck(client: ScriptClient): () => void {
  let left = ATTEMPTS;
  let asking = false;
  return () => {
    if (left === 0 || asking) return;
    asking = true;
    client.eval(MEMORY_INFO, 0).then(
      (info) => {
        asking = false;
        left = 0;
        const policy = typeof info === 'string' ? /^maxmemory_policy:(\S+)/m.exec(info)?.[1] : undefined;
        if (policy === undefined || policy === 'noeviction') return;
        process.emitWarning(
          `submit-once: Redis's maxmemory-policy is ${policy}: under memory pressure Redis may evict idempotency records, and a retry of a request whose record was evicted runs its handler again. Set maxmemory-policy to noeviction.`,
          { code: 'SUBMIT_ONCE_REDIS_EVICTION' },
        );
      },
      () => {
        asking = false;
        left--;
      },
    );
  };
}
