/**
 * A FormData held by the outbox (a guard's or the hook's `held` request) is kept as its
 * bytes under the key, the boundary derived from it, as the fetch wrapper, axios and the
 * guards' `body` send it. Kept with the platform's random boundary, the replay of a
 * submission whose attempts reached the server was another payload under the same key:
 * the verifier refuses it (422) though the order ran, and the page is told it was refused.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { formBytes } from '../../src/http/form-bytes.js';
import { createOutbox } from '../../src/outbox/index.js';

beforeEach(() => void vi.stubGlobal('indexedDB', new IDBFactory()));
afterEach(() => void vi.unstubAllGlobals());

function order(): FormData {
  const form = new FormData();
  form.append('sku', 'F-9');
  form.append('receipt', new File(['%PDF-1.4 receipt'], 'receipt.pdf', { type: 'application/pdf' }));
  return form;
}

it('a held FormData is replayed as the bytes the SDK sent under the key: same Content-Type (the key’s boundary), same bytes', async () => {
  const replayed: { type: string | null; body: string }[] = [];
  const outbox = createOutbox({
    databaseName: 'form-data-held',
    locks: null,
    online: () => true,
    fetch: async (request) => {
      replayed.push({ type: request.headers.get('content-type'), body: await request.text() });
      return new Response('{}', { status: 201 });
    },
  });
  const { answer } = await outbox.hold({ method: 'POST', url: 'https://shop.test/orders', headers: [], body: order(), keyHeader: 'Idempotency-Key', key: 'k-f', fingerprint: 'fp-f' });
  await outbox.flush();
  expect((await answer).status).toBe(201);

  const sent = (await formBytes(order()))('k-f');
  expect(replayed).toEqual([{ type: sent.type, body: await sent.text() }]);
  expect(sent.type).toMatch(/^multipart\/form-data; boundary=submit-once-[0-9a-f]{16}$/);
  outbox.close();
});
