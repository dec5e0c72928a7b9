/** Header names and keyed methods both ends agree on, unless configured otherwise. */

/** The request header that carries the key (IETF draft `Idempotency-Key`, as Stripe). */
export const KEY_HEADER = 'Idempotency-Key';

/** The response header the verifier sets to `true` on a replayed answer. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** RFC 9110's `token`: what a header field name may be. */
export const HEADER_NAME = /^[\w!#$%&'*+.^`|~-]+$/;

/** Methods that carry a key by default: the non-idempotent ones (PUT and DELETE already are). */
export const KEYED_METHODS: readonly string[] = ['POST', 'PATCH'];
