/**
 * A key source that gives no valid key (a typo'd createKey, a token read with the wrong
 * field) is refused with InvalidKeyError. Its claim consumed the previous submission's
 * settle write still in memory: refused, that write must still reach the store, or the
 * next order of the same cart goes out under the first order's key and the server
 * replays the first order instead of placing the second.
 */
import { describe, expect, it } from 'vitest';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { InvalidKeyError } from '../../src/core/errors.js';

const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };

describe('a refused key source, with the previous settle still queued', () => {
  it('the settle is written: the next order of the same intent gets a new key', async () => {
    let clock = 1_000_000;
    const keys: unknown[] = ['order-key-one-0001', undefined, 'order-key-two-0002'];
    const submitter = createSubmitter({
      store: memoryStore(),
      locks: null,
      now: () => clock,
      settleWindow: 10,
      createKey: () => keys.shift() as string,
    });
    const sent: string[] = [];
    const send = async (attempt: AttemptContext) => {
      sent.push(attempt.key);
      return new Response('{}', { status: 201 });
    };
    await submitter.submit({ intent, send });
    clock += 100; // past the settle window: the same cart again is a second order
    await expect(submitter.submit({ intent, send })).rejects.toBeInstanceOf(InvalidKeyError);
    await submitter.idle();
    clock += 100;
    await submitter.submit({ intent, send });
    expect(sent).toEqual(['order-key-one-0001', 'order-key-two-0002']);
  });
});
