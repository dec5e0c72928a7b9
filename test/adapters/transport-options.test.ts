import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { InvalidOptionsError, isSubmitOnceError, memoryStore } from '../../src/index.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';

/** The adapters' `header`, refused when the adapter is made, as the engine's options are. */
const makers = {
  fetch: (options: object) => createIdempotentFetch({ store: memoryStore(), locks: null, ...options }),
  axios: (options: object) => installIdempotency(axios.create(), { store: memoryStore(), locks: null, ...options }),
};

describe.each(Object.entries(makers))('%s adapter options', (_name, make) => {
  it.each([
    ['header', { header: 'Idempotency Key' }],
    ['header', { header: '' }],
  ])('%s %j throws InvalidOptionsError when made', (option, options) => {
    let caught: unknown;
    try {
      make(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidOptionsError);
    expect(isSubmitOnceError(caught, 'invalid-options') && caught.option).toBe(option);
  });
});

// Before, 'Idempotency Key' was taken: fetch's TypeError on it counted as a network error,
// so nothing was ever sent and the caller got AmbiguousOutcomeError after three attempts.
it('control: a valid custom header is taken and sent once', async () => {
  let sent = 0;
  const base = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    sent++;
    new Headers(init?.headers); // what fetch does first: an invalid name throws here
    return new Response(null, { status: 201 });
  }) as typeof fetch;
  const valid = createIdempotentFetch({ store: memoryStore(), locks: null, header: 'X-Idempotency-Key', fetch: base });
  expect((await valid('http://x.test/a', { method: 'POST', body: '1' })).status).toBe(201);
  expect(sent).toBe(1);
});
