// @vitest-environment jsdom
/**
 * README recipe "TanStack Query": `useMutation` has no per-`mutate()` id, so the key
 * travels in the variables: mint it with `newKey()` once per intent (the click), pass it as
 * `idempotency: { key }`. TanStack's own retries call `mutationFn` with the same variables,
 * so they carry the same key; submit-once's retries are off (`retry: false`), one side retries.
 */
import { QueryClient, QueryClientProvider, useMutation } from '@tanstack/react-query';
import { act, renderHook, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newKey } from '../../src/index.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

// --- the recipe (README, "Recipes: TanStack Query") ---
interface Cart {
  sku: string;
  qty: number;
}

const api = createIdempotentFetch({ retry: false }); // TanStack retries; this side does not

function usePlaceOrder(url: string) {
  return useMutation({
    mutationFn: async ({ cart, key }: { cart: Cart; key: string }) => {
      const response = await api(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(cart),
        idempotency: { key }, // the intent's key, the same on every TanStack retry
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return (await response.json()) as { ok: boolean };
    },
    retry: 2,
    retryDelay: 10,
  });
}
// In the click handler, one key per intent:
//   placeOrder.mutate({ cart, key: newKey() })
// --- end of the recipe ---

function wrapper({ children }: { children: ReactNode }) {
  const client = new QueryClient();
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

it('TanStack retries a 503 and a dropped connection with the intent\'s key; the next intent gets a new key', async () => {
  server.replies = [{ status: 503 }, { drop: true }];
  const url = `${server.url}/orders`;
  const { result } = renderHook(() => usePlaceOrder(url), { wrapper });
  const first = newKey();
  act(() => result.current.mutate({ cart: { sku: 'A', qty: 1 }, key: first }));
  await waitFor(() => expect(result.current.isSuccess).toBe(true));
  expect(server.seen.map((r) => r.key)).toEqual([first, first, first]);

  const second = newKey();
  act(() => result.current.mutate({ cart: { sku: 'A', qty: 1 }, key: second }));
  await waitFor(() => expect(server.seen).toHaveLength(4));
  expect(server.seen[3]?.key).toBe(second);
  expect(second).not.toBe(first);
});
