/**
 * A fetch Response is the answer once its status line has come: the key is retired then
 * (DESIGN.md, Settle), not when the caller has read the body. A body cut after a 2xx (a
 * reload, a dropped connection) leaves the caller with a status and a body it cannot read,
 * and past the settle window the same cart is a new intent. README's settle-window paragraph
 * states this; these tests pin it.
 */
import { describe, expect, it } from 'vitest';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { memoryStore } from '../../src/core/store.js';

/** A 201 whose body stops after its first bytes with a network error. */
function cutAfterHeaders(): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"orderId":'));
      controller.error(new TypeError('network error'));
    },
  });
  return new Response(body, { status: 201, headers: { 'content-type': 'application/json' } });
}

function setup() {
  let clock = 1_000_000;
  const keys: string[] = [];
  const fetchOnce = createIdempotentFetch({
    store: memoryStore(),
    locks: null,
    retry: false,
    now: () => clock,
    fetch: async (_input, init) => {
      keys.push(new Headers(init?.headers).get('idempotency-key') ?? '');
      return cutAfterHeaders();
    },
  });
  const order = async () => {
    const response = await fetchOnce('https://shop.test/orders', { method: 'POST', body: '{"sku":"A"}' });
    return { status: response.status, body: await response.text().then(() => 'read', (error: unknown) => `cut: ${String(error)}`) };
  };
  return { order, keys, advance: (ms: number) => (clock += ms) };
}

describe('a 2xx whose body is cut', () => {
  it('is handed over as the 201 it is; the body read fails', async () => {
    const { order } = setup();
    expect(await order()).toEqual({ status: 201, body: 'cut: TypeError: network error' });
  });

  it('past the settle window the same cart is a new intent with a new key', async () => {
    const { order, keys, advance } = setup();
    await order();
    advance(1_500);
    await order();
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
  });
});
