/** Why a transactional Postgres store has no claim transaction to offer. */
export type NoClaimTransactionReason = 'not-transactional' | 'outside-scope' | 'no-claim';

const ADVICE: Record<NoClaimTransactionReason, string> = {
  'not-transactional': 'the store is not transactional; create it with postgresStore(pool, { transactional: true })',
  'outside-scope': 'the request does not run inside store.scope(...); wrap the listener: http.createServer(store.scope(mw.handler(app)))',
  'no-claim': "this request holds no claim (it has no key, or its claim has ended); call store.client() from the guarded handler's own run",
};

/**
 * A wiring mistake with a transactional `postgresStore`, not an outage: a claim made
 * outside `store.scope(...)` (the middleware answers it 503 and reports it in its
 * `store-error` event), or `store.client()` called where there is no claim transaction.
 */
export class NoClaimTransactionError extends Error {
  override readonly name = 'NoClaimTransactionError';
  readonly code = 'no-claim-transaction';

  constructor(readonly reason: NoClaimTransactionReason) {
    super(`submit-once: no claim transaction here: ${ADVICE[reason]}`);
  }
}

/** True for a `NoClaimTransactionError`, also from another copy of this module (where `instanceof` fails). */
export function isNoClaimTransactionError(error: unknown): error is NoClaimTransactionError {
  return error instanceof Error && (error as { code?: unknown }).code === 'no-claim-transaction';
}
