import type { EventScope } from './events.js';

/**
 * What is known of a request once its key is claimed (or found taken). It is also the
 * scope the audit records a key under (an `EventScope`): one object a request, where a
 * scope of its own and a copy for the run were two more. Events get `eventScope` of it.
 */
export interface Claimed extends EventScope {
  readonly key: string;
  readonly principal: string | undefined;
  readonly storageKey: string;
  readonly fingerprint: string;
  readonly expiredToken: boolean;
}

/** The scope events carry: the key's parts, without `principal` when it has none. */
export function eventScope({ key, principal, method, route }: Claimed): EventScope {
  return principal === undefined ? { key, method, route } : { key, principal, method, route };
}
