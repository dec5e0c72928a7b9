/**
 * The Postgres store's wiring mistakes (a transactional store used outside `store.scope`,
 * `store.client()` outside a claim) are typed errors a caller can tell from an outage: the
 * middleware reports a claim's failure in its `store-error` event, where a plain `Error`
 * looked like any other.
 */
import { describe, expect, it } from 'vitest';
import { isNoClaimTransactionError, NoClaimTransactionError, postgresStore, type PgPoolLike } from '../../src/server/index.js';

/** A pool no test here may reach: each misuse is refused before any statement. */
const unreachablePool: PgPoolLike = {
  query: () => Promise.reject(new Error('no statement expected')),
  connect: () => Promise.reject(new Error('no connection expected')),
};
const claim = { key: 'k', fingerprint: 'f', leaseMs: 1_000, retentionMs: 60_000, now: Date.now(), recover: false };

describe('postgres store misuse', () => {
  it('a transactional claim outside store.scope rejects with NoClaimTransactionError (reason outside-scope)', async () => {
    const store = postgresStore(unreachablePool, { transactional: true });
    const error: unknown = await store.claim(claim).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoClaimTransactionError);
    expect(isNoClaimTransactionError(error)).toBe(true);
    expect(error).toMatchObject({ name: 'NoClaimTransactionError', code: 'no-claim-transaction', reason: 'outside-scope' });
    expect((error as Error).message).toMatch(/store\.scope/);
  });

  it('store.client() names why there is no transaction: not transactional, outside a scope, or no claim in it', () => {
    const plain = postgresStore(unreachablePool);
    const transactional = postgresStore(unreachablePool, { transactional: true });
    const reasonOf = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (error) {
        expect(isNoClaimTransactionError(error)).toBe(true);
        return (error as NoClaimTransactionError).reason;
      }
      return 'no error';
    };
    expect(reasonOf(() => plain.client())).toBe('not-transactional');
    expect(reasonOf(() => plain.scope(() => plain.client())())).toBe('not-transactional');
    expect(reasonOf(() => transactional.client())).toBe('outside-scope');
    expect(reasonOf(() => transactional.scope(() => transactional.client())())).toBe('no-claim');
  });

  it('isNoClaimTransactionError is false for other errors, also one with the same name but not the code', () => {
    expect(isNoClaimTransactionError(new Error('x'))).toBe(false);
    expect(isNoClaimTransactionError(Object.assign(new Error('x'), { name: 'NoClaimTransactionError' }))).toBe(false);
    expect(isNoClaimTransactionError(undefined)).toBe(false);
  });
});
