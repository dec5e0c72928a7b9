import { afterEach, describe, expect, it, vi } from 'vitest';
import { mintAhead, newKey, takeKey } from '../../src/core/key.js';
import { InvalidKeyError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/core/store.js';
import { createSubmitter } from '../../src/core/submitter.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newKey', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('uses crypto.randomUUID when the context has it', () => {
    const spy = vi.spyOn(globalThis.crypto, 'randomUUID');
    const key = newKey();
    expect(spy).toHaveBeenCalledOnce();
    expect(key).toMatch(UUID_V4);
  });

  it('falls back to getRandomValues where randomUUID is missing (plain http)', () => {
    const getRandomValues = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
    const spy = vi.fn((array: Uint8Array) => getRandomValues(array));
    vi.stubGlobal('crypto', { getRandomValues: spy });
    const keys = new Set(Array.from({ length: 200 }, () => newKey()));
    expect(spy).toHaveBeenCalled();
    expect(keys.size).toBe(200);
    for (const key of keys) expect(key).toMatch(UUID_V4);
  });

  it('sets the version and variant bits even for all-ones random bytes', () => {
    expect(newKey((bytes) => bytes.fill(0xff))).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(newKey((bytes) => bytes.fill(0))).toBe('00000000-0000-4000-8000-000000000000');
  });

  it('refuses to invent weak keys when there is no crypto at all', () => {
    vi.stubGlobal('crypto', undefined);
    expect(() => newKey()).toThrow(/getRandomValues/);
  });

  it('takeKey hands out the key minted ahead once, then mints anew', () => {
    mintAhead();
    const spy = vi.spyOn(globalThis.crypto, 'randomUUID');
    const ahead = takeKey();
    expect(spy).not.toHaveBeenCalled();
    const next = takeKey();
    expect(spy).toHaveBeenCalledOnce();
    expect(ahead).toMatch(UUID_V4);
    expect(next).toMatch(UUID_V4);
    expect(next).not.toBe(ahead);
    // Minting ahead twice keeps one key: no key is ever handed out twice.
    mintAhead();
    mintAhead();
    const keys = new Set([takeKey(), takeKey(), takeKey()]);
    expect(keys.size).toBe(3);
  });
});

describe('a key source that gives no valid key', () => {
  const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A' } };
  // A token endpoint read with the wrong field name, a createKey with a typo: every intent
  // would go out under one key ("undefined"), and the server replay one order for the next.
  for (const [name, options] of [
    ['tokenProvider resolving undefined', { tokenProvider: async () => undefined as unknown as string }],
    ['tokenProvider resolving a key with a space', { tokenProvider: async () => 'tok en' }],
    ['createKey returning an empty string', { createKey: () => '' }],
  ] as const) {
    it(`${name}: the submission fails with InvalidKeyError, nothing is sent or stored`, async () => {
      const store = memoryStore();
      const submitter = createSubmitter({ ...options, store, locks: null });
      const sent: unknown[] = [];
      await expect(submitter.submit({ intent, send: async ({ key }) => sent.push(key) })).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(submitter.prepare(intent)).rejects.toBeInstanceOf(InvalidKeyError);
      expect(sent).toEqual([]);
      await submitter.idle();
      expect(await store.list()).toEqual([]);
    });
  }
});
