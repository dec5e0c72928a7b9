// @vitest-environment jsdom
/** `guardButton` with `held` and `queue: true`: offline, the click's request goes to the outbox with its key, and the answer settles the guard. */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { guardButton } from '../../src/dom/index.js';
import { fakeOutbox, heldCount } from '../outbox/fake-outbox.js';

describe('guardButton with the outbox', () => {
  it('offline: the handler is not called; the described request is held with the key; the answer reaches onSuccess', async () => {
    const outbox = fakeOutbox();
    outbox.offlineNow = true;
    const button = document.createElement('button');
    document.body.append(button);
    let called = 0;
    const done: unknown[] = [];
    guardButton(
      button,
      async () => {
        called += 1;
        return 'sent directly';
      },
      {
        store: memoryStore(),
        locks: null,
        outbox,
        queue: true,
        intent: 'pay',
        held: { request: () => ({ method: 'POST', url: 'https://shop.test/pay', body: '{"amount":5}' }), receive: (answer) => answer.text() },
        onSuccess: (data, key) => done.push(data, key),
      },
    );
    button.click();
    await heldCount(outbox, 1);
    expect(called).toBe(0);
    expect(button.disabled).toBe(true);
    const [request] = outbox.held;
    expect(new Headers([...request!.headers]).get('idempotency-key')).toBe(request!.key);
    outbox.answer(new Response('paid', { status: 201 }));
    await expect.poll(() => done).toEqual(['paid', request!.key]);
    expect(button.disabled).toBe(false);
  });
});
