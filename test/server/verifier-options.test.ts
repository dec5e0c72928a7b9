/**
 * `createVerifier({ upstream })` refuses, as `InvalidOptionsError`, an upstream the proxy
 * cannot use as given (the bin's `--upstream` refuses the same): not a URL (was Node's own
 * `TypeError: Invalid URL`), another scheme (was accepted, then every request 500 and its
 * key freed), credentials or a query (were dropped without a word).
 */
import { describe, expect, it } from 'vitest';
import { createVerifier, InvalidOptionsError } from '../../src/server/index.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('createVerifier({ upstream })', () => {
  it.each([
    ['not a URL', '127.0.0.1:3000'],
    ['another scheme', 'ftp://127.0.0.1:3000'],
    ['credentials', 'http://user:secret@127.0.0.1:3000'],
    ['a query', 'http://127.0.0.1:3000/api?tenant=1'],
    ['a fragment', 'http://127.0.0.1:3000/#x'],
  ])('refuses %s with InvalidOptionsError naming upstream', (_what, upstream) => {
    const error = thrown(() => createVerifier({ upstream }));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe('upstream');
    expect((error as Error).message).not.toContain('secret');
  });

  it('takes an http(s) URL with a path', async () => {
    for (const upstream of ['http://127.0.0.1:3000', 'https://api.example/v1/']) await createVerifier({ upstream }).close();
  });

  it('refuses upstreamConnectTimeoutMs without upstream, where it was ignored (the bin refuses --upstream-connect-timeout-ms without --upstream)', () => {
    const error = thrown(() => createVerifier({ upstreamConnectTimeoutMs: 250 }));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe('upstreamConnectTimeoutMs');
  });
});
