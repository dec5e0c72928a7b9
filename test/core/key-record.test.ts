import { describe, expect, it } from 'vitest';
import { abort, claim, isLive, keep, settle } from '../../src/core/key-record.js';
import type { KeyRecord } from '../../src/core/store.js';

const policy = { ttl: 1000, settleWindow: 100, createKey: () => 'minted' };
const record = (fields: Partial<KeyRecord> = {}): KeyRecord => ({
  v: 1,
  key: 'stored',
  fingerprint: 'fp',
  createdAt: 0,
  expiresAt: 1000,
  attempts: 1,
  state: 'ambiguous',
  ...fields,
});

describe('key record transitions', () => {
  it('claim: a new key when nothing is stored, written ahead as pending', () => {
    expect(claim(undefined, 'fp', 5, undefined, policy)).toEqual({
      record: { v: 1, key: 'minted', fingerprint: 'fp', createdAt: 5, expiresAt: 1005, attempts: 0, state: 'pending' },
      source: 'new',
    });
  });

  it('claim: a live stored key is reused (retry, reload, second tab); an expired one is not', () => {
    expect(claim(record(), 'fp', 10, undefined, policy)).toEqual({ record: record({ state: 'pending' }), source: 'store' });
    expect(claim(record(), 'fp', 1000, undefined, policy).source).toBe('new');
  });

  it('claim: a settled key is reused inside the settle window only', () => {
    const settled = record({ state: 'settled', settledAt: 50 });
    expect(claim(settled, 'fp', 149, undefined, policy).source).toBe('store');
    expect(claim(settled, 'fp', 150, undefined, policy).record.key).toBe('minted');
  });

  it("claim: the caller's key wins, keeping the stored record only when it is that key", () => {
    expect(claim(record(), 'fp', 10, 'stored', policy)).toEqual({ record: record({ state: 'pending' }), source: 'caller' });
    const other = claim(record(), 'fp', 10, 'mine', policy);
    expect(other).toMatchObject({ record: { key: 'mine', attempts: 0, createdAt: 10 }, source: 'caller' });
  });

  it('keep and abort leave the key for the next try; settle starts the settle window', () => {
    const pending = record({ state: 'pending' });
    expect(keep(pending, 2)).toEqual(record({ attempts: 3, state: 'ambiguous' }));
    expect(abort(pending, 1)).toEqual(record({ attempts: 2, state: 'ambiguous' }));
    const settled = settle(pending, 1, 40);
    expect(settled).toEqual(record({ attempts: 2, state: 'settled', settledAt: 40 }));
    expect(isLive(settled, 139, policy)).toBe(true);
    expect(isLive(settled, 140, policy)).toBe(false);
    expect(isLive(undefined, 0, policy)).toBe(false);
  });
});
