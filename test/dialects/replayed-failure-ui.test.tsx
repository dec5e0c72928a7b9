// @vitest-environment jsdom
/**
 * A failure the server stored and replays (@node-idempotency stores 5xx), through the
 * React hook and the DOM guard against the real server (e2e/dialects/servers.ts): the
 * error is a `ReplayedFailureError` with the status, and the one way on is to submit
 * again (a new click), which is a new intent with a new key. fetch and axios: e2e/dialects.spec.ts.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { useIdempotentSubmit } from '../../src/react/index.js';
import { guardButton } from '../../src/dom/index.js';
import { startDialectServers, type DialectServers } from '../../e2e/dialects/servers.js';

let servers: DialectServers;
beforeAll(async () => {
  servers = await startDialectServers();
});
afterAll(() => servers.close());
afterEach(cleanup);

/** POSTs with the key; a non-2xx answer is thrown with its `response`, so the engine reads it. */
async function placeOrder(url: string, key: string, signal: AbortSignal): Promise<{ orderId: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify({ sku: 'A' }),
    signal,
  });
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { response });
  return (await response.json()) as { orderId: string };
}

// The settle window is 0 so the second click is not a double-click of the first.
const engine = { store: memoryStore(), locks: null, settleWindow: 0, debounce: 0, retry: { attempts: 3, baseDelay: 1, maxDelay: 5 } };

describe('a replayed stored failure', () => {
  it('useIdempotentSubmit: the error is ReplayedFailureError(503); clicking again places the order with a new key', async () => {
    const url = `${servers.origin}/node-idempotency/orders?lane=hook&fail=1&status=503`;
    const keys: string[] = [];
    function Checkout() {
      const order = useIdempotentSubmit((_: void, { key, signal }) => (keys.push(key), placeOrder(url, key, signal)), { ...engine, intent: 'checkout' });
      return (
        <>
          <button {...order.buttonProps}>Pay</button>
          <output>{order.isError ? `${(order.error as Error).name} ${String((order.error as { status?: number }).status)}` : (order.data?.orderId ?? '')}</output>
        </>
      );
    }
    render(<Checkout />);
    fireEvent.click(screen.getByRole('button'));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('ReplayedFailureError 503'));
    expect(servers.executions('hook')).toBe(1);

    fireEvent.click(screen.getByRole('button'));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('hook-2'));
    expect(servers.executions('hook')).toBe(2);
    expect(new Set(keys).size).toBe(2);
  });

  it('guardButton: onError gets ReplayedFailureError(503); clicking again places the order with a new key', async () => {
    const url = `${servers.origin}/node-idempotency/orders?lane=guard&fail=1&status=503`;
    document.body.innerHTML = '<button id="pay" type="button">Pay</button>';
    const button = document.querySelector('button')!;
    const errors: unknown[] = [];
    const orders: string[] = [];
    const dispose = guardButton(button, ({ key, signal }) => placeOrder(url, key, signal), {
      ...engine,
      onError: (error) => errors.push(error),
      onSuccess: (order) => orders.push(order.orderId),
    });
    try {
      button.click();
      await waitFor(() => expect(errors).toHaveLength(1));
      expect(isSubmitOnceError(errors[0], 'replayed-failure')).toBe(true);
      expect(errors[0]).toMatchObject({ name: 'ReplayedFailureError', status: 503 });
      await waitFor(() => expect(button.disabled).toBe(false));

      button.click();
      await waitFor(() => expect(orders).toEqual(['guard-2']));
      expect(servers.executions('guard')).toBe(2);
    } finally {
      dispose();
    }
  });
});
