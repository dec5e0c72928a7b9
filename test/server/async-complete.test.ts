import { describe, expect, it, vi } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';
import type { CompleteRequest } from '../../src/server/stores/types.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();

/**
 * A store that answers `complete` through a promise the test settles (as the file store's
 * fdatasync or a Redis round trip does), so the held end's order against it can be seen.
 */
function heldStore(transactional = false): { store: IdempotencyStore; completions: Array<{ request: CompleteRequest; answer(stored: boolean | Error): void }> } {
  const inner = memoryStore();
  const completions: Array<{ request: CompleteRequest; answer(stored: boolean | Error): void }> = [];
  const store: IdempotencyStore = {
    ...inner,
    transactional,
    complete: (request) =>
      new Promise<boolean>((resolve, reject) => {
        completions.push({
          request,
          answer: (stored) => {
            if (stored instanceof Error) return reject(stored);
            // The record is stored when the store says so, as a commit would.
            if (stored) void inner.complete(request).then(() => resolve(true), reject);
            else resolve(false);
          },
        });
      }),
  };
  return { store, completions };
}

describe('a completion answered later by the store (session 27: one promise while it waits)', () => {
  it('the end goes out only once the store has answered, and a retry replays it', async () => {
    const { store, completions } = heldStore();
    const order: string[] = [];
    const url = await serve(idempotency({ store }).handler((_req, res) => res.writeHead(201, { 'Content-Type': 'text/plain' }).end('made')));
    const first = post(`${url}/orders`, { key: 'a1', body: {} }).then((answer) => {
      order.push('answered');
      return answer;
    });
    await vi.waitFor(() => expect(completions).toHaveLength(1));
    order.push('store answers');
    completions[0]!.answer(true);
    const answer = await first;
    expect([answer.status, answer.text]).toEqual([201, 'made']);
    expect(order).toEqual(['store answers', 'answered']);
    const again = await post(`${url}/orders`, { key: 'a1', body: {} });
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([201, 'made', 'true']);
  });

  it('a transactional store that could not commit: the answer is replaced by a 503 problem', async () => {
    const { store, completions } = heldStore(true);
    const url = await serve(
      idempotency({ store }).handler((_req, res) => {
        // Not `writeHead`: its head counts as sent, and could then only be cut off.
        res.statusCode = 201;
        res.setHeader('X-Order', '1');
        res.end('made');
      }),
    );
    const first = post(`${url}/orders`, { key: 'a2', body: {} });
    await vi.waitFor(() => expect(completions).toHaveLength(1));
    completions[0]!.answer(false);
    const answer = await first;
    expect(answer.status).toBe(503);
    expect(answer.headers.get('x-order')).toBeNull();
    expect(answer.headers.get('retry-after')).toBe('1');
  });

  it('a store that fails to complete: the captured answer still goes out, and the store error is told', async () => {
    const { store, completions } = heldStore();
    const events: string[] = [];
    const url = await serve(idempotency({ store, onEvent: (event) => events.push(event.type) }).handler((_req, res) => res.writeHead(201).end('made')));
    const first = post(`${url}/orders`, { key: 'a3', body: {} });
    await vi.waitFor(() => expect(completions).toHaveLength(1));
    completions[0]!.answer(new Error('disk gone'));
    const answer = await first;
    expect([answer.status, answer.text]).toEqual([201, 'made']);
    expect(events).toContain('store-error');
    expect(events).not.toContain('completed');
  });
});
