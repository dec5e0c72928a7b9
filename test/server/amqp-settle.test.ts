// consumeOnce's acks and nacks, on a channel that records them: every delivery must end in
// an ack or a nack, else it stays unacknowledged on a live channel and holds a prefetch slot
// until the channel closes (with prefetch 1, the consumer takes nothing more).
import { describe, expect, it } from 'vitest';
import { consumeOnce, memoryStore, type AmqpConfirmChannelLike, type AmqpMessage } from '../../src/server/index.js';
import { sleep } from '../helpers/clock.js';

interface Recorded {
  channel: AmqpConfirmChannelLike;
  deliver(id: string | undefined): AmqpMessage;
  settled: Array<{ tag: number; how: 'ack' | 'nack-requeue' | 'nack-drop' }>;
  published: Array<{ routingKey: string; headers: Record<string, unknown> | undefined }>;
}

function recordingChannel(options: { refusePublish?: boolean } = {}): Recorded {
  let onMessage: ((message: AmqpMessage | null) => void) | undefined;
  let tag = 0;
  const settled: Recorded['settled'] = [];
  const published: Recorded['published'] = [];
  const channel: AmqpConfirmChannelLike = {
    consume: async (_queue, callback) => {
      onMessage = callback;
      return { consumerTag: 'c-1' };
    },
    cancel: async () => undefined,
    ack: (message) => void settled.push({ tag: message.fields.deliveryTag, how: 'ack' }),
    nack: (message, _allUpTo, requeue) => void settled.push({ tag: message.fields.deliveryTag, how: requeue === false ? 'nack-drop' : 'nack-requeue' }),
    prefetch: async () => undefined,
    assertQueue: async () => undefined,
    publish: (_exchange, routingKey, _content, publishOptions, callback) => {
      published.push({ routingKey, headers: publishOptions.headers });
      // A broker nack of the copy (a dead-letter queue at its x-max-length with reject-publish).
      setTimeout(() => callback(options.refusePublish ? new Error('message nacked') : null), 1);
      return true;
    },
  };
  const deliver = (id: string | undefined): AmqpMessage => {
    const message: AmqpMessage = {
      content: Buffer.from('{}'),
      fields: { deliveryTag: ++tag, redelivered: false, routingKey: 'orders', exchange: '' },
      properties: id === undefined ? {} : { messageId: id },
    };
    onMessage!(message);
    return message;
  };
  return { channel, deliver, settled, published };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(5);
}

describe('consumeOnce settles every delivery', () => {
  it('acks a processed message even when onResult throws (a metrics bug must not stall the consumer)', async () => {
    const { channel, deliver, settled } = recordingChannel();
    let runs = 0;
    await consumeOnce(channel, 'orders', () => void runs++, {
      store: memoryStore(),
      onResult: () => {
        throw new Error('metrics backend down');
      },
    });
    deliver('m-1');
    await until(() => settled.length === 1);
    // Its redelivery (a duplicate publish): acked without running.
    deliver('m-1');
    await until(() => settled.length === 2);
    expect(runs).toBe(1);
    expect(settled).toEqual([
      { tag: 1, how: 'ack' },
      { tag: 2, how: 'ack' },
    ]);
  });

  it('requeues a poison message whose dead-letter copy the broker refused, rather than leave it unacknowledged', async () => {
    const { channel, deliver, settled, published } = recordingChannel({ refusePublish: true });
    await consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), busyDelayMs: 10 });
    // No id: dead-lettered at once.
    deliver(undefined);
    await until(() => settled.length === 1);
    expect(published).toHaveLength(1);
    expect(settled).toEqual([{ tag: 1, how: 'nack-requeue' }]);
  });

  it('dead-letters a message without an id, with the reason in its header, and acks it once the copy is confirmed', async () => {
    const { channel, deliver, settled, published } = recordingChannel();
    let runs = 0;
    await consumeOnce(channel, 'orders', () => void runs++, { store: memoryStore() });
    deliver(undefined);
    await until(() => settled.length === 1);
    expect(runs).toBe(0);
    expect(published).toEqual([{ routingKey: 'orders.dead-letter', headers: expect.objectContaining({ 'x-submit-once-error': 'the message has no id, so it cannot be de-duplicated', 'x-submit-once-attempts': 0 }) }]);
    expect(settled).toEqual([{ tag: 1, how: 'ack' }]);
  });

  it('dead-letters a message whose id the messageId option cannot read (it threw), rather than leave it unacknowledged', async () => {
    const { channel, deliver, settled, published } = recordingChannel();
    let runs = 0;
    await consumeOnce(channel, 'orders', () => void runs++, {
      store: memoryStore(),
      // The id from the body, which this message does not have as JSON.
      messageId: (message) => (JSON.parse(message.content.toString('utf8').slice(1)) as { id: string }).id,
    });
    deliver('m-1');
    await until(() => settled.length === 1);
    expect(runs).toBe(0);
    expect(published).toEqual([{ routingKey: 'orders.dead-letter', headers: expect.objectContaining({ 'x-submit-once-error': expect.stringMatching(/^the message id could not be read: SyntaxError: /), 'x-submit-once-attempts': 0 }) }]);
    expect(settled).toEqual([{ tag: 1, how: 'ack' }]);
  });
});
