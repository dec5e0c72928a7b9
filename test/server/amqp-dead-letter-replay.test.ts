// Pins how a dead letter is run again (README, "Message consumers"): moved back to its queue
// within retentionMs it is dead-lettered again unrun, since its id's record says dead-letter;
// published under a new message id it runs.
import { describe, expect, it } from 'vitest';
import { consumeOnce, memoryStore, type AmqpConfirmChannelLike, type AmqpMessage } from '../../src/server/index.js';
import { sleep } from '../helpers/clock.js';

describe('consumeOnce, a dead-lettered message moved back to its queue', () => {
  it('within retentionMs it is dead-lettered again without running; published under a new message id, it runs', async () => {
    let onMessage: ((message: AmqpMessage | null) => void) | undefined;
    const published: AmqpMessage[] = [];
    const acked: number[] = [];
    const channel: AmqpConfirmChannelLike = {
      consume: async (_queue, callback) => ((onMessage = callback), { consumerTag: 'c-1' }),
      cancel: async () => undefined,
      ack: (message) => void acked.push(message.fields.deliveryTag),
      nack: () => undefined,
      prefetch: async () => undefined,
      assertQueue: async () => undefined,
      on: () => undefined,
      removeListener: () => undefined,
      publish: (exchange, routingKey, content, options, callback) => {
        published.push({ content, fields: { deliveryTag: 0, redelivered: false, routingKey, exchange }, properties: { messageId: options.messageId, headers: options.headers } });
        setTimeout(() => callback(null), 1);
        return true;
      },
    };
    let fixed = false;
    let ran = 0;
    await consumeOnce(
      channel,
      'orders',
      () => {
        if (!fixed) throw new Error('bug in the handler');
        ran++;
      },
      { store: memoryStore(), maxAttempts: 1 },
    );
    onMessage!({ content: Buffer.from('{}'), fields: { deliveryTag: 1, redelivered: false, routingKey: 'orders', exchange: '' }, properties: { messageId: 'm-1' } });
    for (let i = 0; i < 100 && acked.length < 1; i++) await sleep(5);
    expect(published).toHaveLength(1);
    // The bug is fixed; the operator moves the dead letter back to `orders`.
    fixed = true;
    const copy = published[0]!;
    onMessage!({ ...copy, fields: { deliveryTag: 2, redelivered: false, routingKey: 'orders', exchange: '' } });
    for (let i = 0; i < 100 && acked.length < 2; i++) await sleep(5);
    // Its id's record says dead-letter (read as a mover that crashed before the copy was out).
    expect(ran).toBe(0);
    expect(published).toHaveLength(2);
    // The way to run it again: the same message under a new id.
    onMessage!({ ...copy, fields: { deliveryTag: 3, redelivered: false, routingKey: 'orders', exchange: '' }, properties: { ...copy.properties, messageId: 'm-1-retry' } });
    for (let i = 0; i < 100 && acked.length < 3; i++) await sleep(5);
    expect(ran).toBe(1);
    expect(published).toHaveLength(2);
  });
});
