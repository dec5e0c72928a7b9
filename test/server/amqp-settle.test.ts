// consumeOnce's acks and nacks, on a channel that records them: every delivery must end in
// an ack or a nack, else it stays unacknowledged on a live channel and holds a prefetch slot
// until the channel closes (with prefetch 1, the consumer takes nothing more).
import { describe, expect, it } from 'vitest';
import { consumeOnce, dedupe, memoryStore, type AmqpConfirmChannelLike, type AmqpMessage } from '../../src/server/index.js';
import { sleep } from '../helpers/clock.js';

interface Recorded {
  channel: AmqpConfirmChannelLike;
  deliver(id: string | undefined, content?: string): AmqpMessage;
  settled: Array<{ tag: number; how: 'ack' | 'nack-requeue' | 'nack-drop' }>;
  published: Array<{ routingKey: string; headers: Record<string, unknown> | undefined; mandatory: boolean | undefined }>;
  /** The 'return' listeners the channel holds. */
  returnListeners: Set<(message: AmqpMessage) => void>;
}

function recordingChannel(
  options: {
    refusePublish?: boolean;
    /** What the broker hands back with basic.return before confirming a copy, as a route to no queue does. */
    returns?: (copy: AmqpMessage) => AmqpMessage | undefined;
    cancel?: () => Promise<unknown>;
  } = {},
): Recorded {
  let onMessage: ((message: AmqpMessage | null) => void) | undefined;
  const returnListeners = new Set<(message: AmqpMessage) => void>();
  let tag = 0;
  const settled: Recorded['settled'] = [];
  const published: Recorded['published'] = [];
  const channel: AmqpConfirmChannelLike = {
    consume: async (_queue, callback) => {
      onMessage = callback;
      return { consumerTag: 'c-1' };
    },
    cancel: options.cancel ?? (async () => undefined),
    ack: (message) => void settled.push({ tag: message.fields.deliveryTag, how: 'ack' }),
    nack: (message, _allUpTo, requeue) => void settled.push({ tag: message.fields.deliveryTag, how: requeue === false ? 'nack-drop' : 'nack-requeue' }),
    prefetch: async () => undefined,
    assertQueue: async () => undefined,
    on: (_event, listener) => returnListeners.add(listener),
    removeListener: (_event, listener) => returnListeners.delete(listener),
    publish: (exchange, routingKey, content, publishOptions, callback) => {
      published.push({ routingKey, headers: publishOptions.headers, mandatory: publishOptions.mandatory });
      const copy: AmqpMessage = { content, fields: { deliveryTag: 0, redelivered: false, routingKey, exchange }, properties: { messageId: publishOptions.messageId, headers: publishOptions.headers } };
      setTimeout(() => {
        // The broker sends a mandatory message's basic.return before its confirm.
        const returned = options.returns?.(copy);
        if (returned !== undefined) for (const listener of returnListeners) listener(returned);
        // A broker nack of the copy (a dead-letter queue at its x-max-length with reject-publish).
        callback(options.refusePublish ? new Error('message nacked') : null);
      }, 1);
      return true;
    },
  };
  const deliver = (id: string | undefined, content = '{}'): AmqpMessage => {
    const message: AmqpMessage = {
      content: Buffer.from(content),
      fields: { deliveryTag: ++tag, redelivered: false, routingKey: 'orders', exchange: '' },
      properties: id === undefined ? {} : { messageId: id },
    };
    onMessage!(message);
    return message;
  };
  return { channel, deliver, settled, published, returnListeners };
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
    expect(published).toEqual([{ routingKey: 'orders.dead-letter', mandatory: true, headers: expect.objectContaining({ 'x-submit-once-error': 'the message has no id, so it cannot be de-duplicated', 'x-submit-once-attempts': 0 }) }]);
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
    expect(published).toEqual([{ routingKey: 'orders.dead-letter', mandatory: true, headers: expect.objectContaining({ 'x-submit-once-error': expect.stringMatching(/^the message id could not be read: SyntaxError: /), 'x-submit-once-attempts': 0 }) }]);
    expect(settled).toEqual([{ tag: 1, how: 'ack' }]);
  });
});

// RabbitMQ confirms a message that routed to no queue as it does a delivered one: a poison
// message whose dead-letter route reached no queue was acked, and lost. Its copy is published
// mandatory, and a return of it (sent before the confirm) counts as a refusal.
describe('consumeOnce, a dead-letter copy the broker returns', () => {
  it('requeues the message rather than ack it, and moves it at a later delivery once the route reaches a queue', async () => {
    let routes = false;
    const { channel, deliver, settled, published } = recordingChannel({ returns: (copy) => (routes ? undefined : copy) });
    let runs = 0;
    await consumeOnce(
      channel,
      'orders',
      () => {
        runs++;
        throw new Error('cannot parse order');
      },
      { store: memoryStore(), maxAttempts: 1, busyDelayMs: 10, deadLetter: { exchange: 'dead', routingKey: 'orders.dead-leter' } },
    );
    deliver('poison');
    await until(() => settled.length === 1);
    expect(settled).toEqual([{ tag: 1, how: 'nack-requeue' }]);
    routes = true;
    deliver('poison');
    await until(() => settled.length === 2);
    expect(runs).toBe(1);
    expect(published.map((p) => p.mandatory)).toEqual([true, true]);
    expect(settled).toEqual([
      { tag: 1, how: 'nack-requeue' },
      { tag: 2, how: 'ack' },
    ]);
  });

  it('matches a return to its own copy: another message returned on the channel does not hold up the ack', async () => {
    const other = (copy: AmqpMessage): AmqpMessage => ({
      ...copy,
      // The same message id and body (another delivery of it, the channel's own mandatory publish), another copy id.
      properties: { ...copy.properties, headers: { ...copy.properties.headers, 'x-submit-once-copy-id': 'another copy' } },
    });
    const { channel, deliver, settled } = recordingChannel({ returns: other });
    await consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), busyDelayMs: 10 });
    deliver(undefined);
    await until(() => settled.length === 1);
    expect(settled).toEqual([{ tag: 1, how: 'ack' }]);
    // Without the header at all (a publish of the application's own on this channel).
    const bare = recordingChannel({ returns: (copy) => ({ ...copy, properties: { messageId: copy.properties.messageId } }) });
    await consumeOnce(bare.channel, 'orders', () => undefined, { store: memoryStore(), busyDelayMs: 10 });
    bare.deliver(undefined);
    await until(() => bare.settled.length === 1);
    expect(bare.settled).toEqual([{ tag: 1, how: 'ack' }]);
  });

  it("refuses, with a TypeError and before any call, a channel that has no on('return') to listen with", async () => {
    const calls: string[] = [];
    const { channel } = recordingChannel();
    const { on: _on, removeListener: _removeListener, ...withoutEvents } = channel;
    const counted = new Proxy(withoutEvents, {
      get: (target, name) => {
        const value = target[name as keyof typeof target];
        return typeof value === 'function' ? (...args: unknown[]) => (calls.push(String(name)), (value as (...a: unknown[]) => unknown)(...args)) : value;
      },
    });
    await expect(consumeOnce(counted as AmqpConfirmChannelLike, 'orders', () => undefined, { store: memoryStore() })).rejects.toThrow(TypeError);
    await expect(consumeOnce(counted as AmqpConfirmChannelLike, 'orders', () => undefined, { store: memoryStore() })).rejects.toThrow(/on\('return'/);
    expect(calls).toEqual([]);
  });

  it("takes its 'return' listener off the channel at cancel()", async () => {
    const { channel, returnListeners } = recordingChannel();
    const consumer = await consumeOnce(channel, 'orders', () => undefined, { store: memoryStore() });
    expect(returnListeners.size).toBe(1);
    await consumer.cancel();
    expect(returnListeners.size).toBe(0);
  });
});

describe('consumeOnce, adversarial', () => {
  // A messageId option reading a header its publisher set to null gave dedupe the id null:
  // every such message shared the key ["message",null], the second acked as a duplicate unrun.
  it('dead-letters messages whose messageId option gives no string, rather than file them under one id', async () => {
    const { channel, deliver, settled, published } = recordingChannel();
    const ran: string[] = [];
    await consumeOnce(channel, 'orders', (message) => void ran.push(message.content.toString()), {
      store: memoryStore(),
      messageId: () => null as unknown as string,
    });
    deliver(undefined, 'first');
    deliver(undefined, 'second');
    await until(() => settled.length === 2);
    expect(ran).toEqual([]);
    expect(published.map((p) => p.headers?.['x-submit-once-error'])).toEqual([
      'the message id is not a string (null), so it cannot be de-duplicated',
      'the message id is not a string (null), so it cannot be de-duplicated',
    ]);
    expect(settled).toEqual([
      { tag: 1, how: 'ack' },
      { tag: 2, how: 'ack' },
    ]);
  });

  it('refuses a busyDelayMs longer than Node keeps a timer (it would fire after 1 ms: a requeue spin)', async () => {
    const { channel } = recordingChannel();
    await expect(consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), busyDelayMs: 3_000_000_000 })).rejects.toMatchObject({
      name: 'InvalidOptionsError',
      option: 'busyDelayMs',
    });
  });

  // onResult is typed to return void, which an async function fits: its rejection went
  // unhandled, and Node's default for that ends the process with every handler mid-run.
  it('swallows the rejection of an async onResult, as it does a throw', async () => {
    const { channel, deliver, settled } = recordingChannel();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await consumeOnce(channel, 'orders', () => undefined, {
        store: memoryStore(),
        onResult: async () => {
          throw new Error('metrics backend down');
        },
      });
      deliver('m-1');
      await until(() => settled.length === 1);
      await sleep(20);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(settled).toEqual([{ tag: 1, how: 'ack' }]);
    expect(unhandled).toEqual([]);
  });

  // The channel closed under the consumer (connection lost): channel.cancel rejects. cancel()
  // rejected at once, while a handler still ran: a caller that then closes its pool breaks it.
  it('cancel() waits for the handlers still running even when the channel refuses the cancel', async () => {
    const { channel, deliver, settled } = recordingChannel({ cancel: () => Promise.reject(new Error('Channel closed')) });
    let finish: () => void = () => undefined;
    let done = false;
    const consumer = await consumeOnce(
      channel,
      'orders',
      () =>
        new Promise<void>((resolve) => {
          finish = () => {
            done = true;
            resolve();
          };
        }),
      { store: memoryStore() },
    );
    deliver('m-1');
    await sleep(10);
    const cancelled = consumer.cancel().then(
      () => 'resolved',
      (error: unknown) => `rejected ${String(error)}`,
    );
    let cancelSettled = false;
    void cancelled.then(() => (cancelSettled = true));
    await sleep(20);
    expect(cancelSettled).toBe(false);
    finish();
    expect(await cancelled).toBe('rejected Error: Channel closed');
    expect(done).toBe(true);
    expect(settled).toEqual([{ tag: 1, how: 'ack' }]);
  });

  it('moves a refused poison message at its redelivery without running it again (README)', async () => {
    const { channel, deliver, settled, published } = recordingChannel({ refusePublish: true });
    let runs = 0;
    await consumeOnce(
      channel,
      'orders',
      () => {
        runs++;
        throw new Error('cannot parse order');
      },
      { store: memoryStore(), maxAttempts: 1, busyDelayMs: 10 },
    );
    deliver('poison');
    await until(() => settled.length === 1);
    deliver('poison');
    await until(() => settled.length === 2);
    expect(runs).toBe(1);
    expect(published.map((p) => p.headers?.['x-submit-once-error'])).toEqual(['Error: cannot parse order', 'Error: cannot parse order']);
    expect(settled).toEqual([
      { tag: 1, how: 'nack-requeue' },
      { tag: 2, how: 'nack-requeue' },
    ]);
  });
});

// A store that always fails (a missing table, wrong credentials) requeued every message as
// busy for ever, and the error itself was dropped: onResult saw only `busy`, nothing said why.
describe('consumeOnce, a store that rejects', () => {
  it('requeues the message without running it and hands the store error to onResult', async () => {
    const { channel, deliver, settled } = recordingChannel();
    const broken = { ...memoryStore(), claim: () => Promise.reject(new Error('relation "message_keys" does not exist')) };
    const results: unknown[] = [];
    let runs = 0;
    await consumeOnce(channel, 'orders', () => void runs++, { store: broken, busyDelayMs: 10, onResult: (result) => results.push(result) });
    deliver('m-1');
    await until(() => settled.length === 1);
    expect(runs).toBe(0);
    expect(settled).toEqual([{ tag: 1, how: 'nack-requeue' }]);
    expect(results).toEqual([{ status: 'busy', retryAfterMs: 10, error: new Error('relation "message_keys" does not exist') }]);
  });
});

// A failed run was requeued at once and the broker handed it straight back: a handler whose
// database was away for 200 ms (a failover) spent all maxAttempts within a few ms and its
// message was dead-lettered before the database was back, though nothing was wrong with it.
describe('consumeOnce, a handler failing for a short while', () => {
  // The broker puts a requeued message back at the head of its queue: redelivered at once.
  function redeliveringChannel(): { channel: AmqpConfirmChannelLike; deliver(): void; nacks: number[] } {
    let onMessage: ((message: AmqpMessage | null) => void) | undefined;
    let tag = 0;
    const nacks: number[] = [];
    const delivery = (): AmqpMessage => ({ content: Buffer.from('{}'), fields: { deliveryTag: ++tag, redelivered: tag > 1, routingKey: 'orders', exchange: '' }, properties: { messageId: 'm-1' } });
    const channel: AmqpConfirmChannelLike = {
      consume: async (_queue, callback) => ((onMessage = callback), { consumerTag: 'c-1' }),
      cancel: async () => undefined,
      ack: () => undefined,
      nack: () => {
        nacks.push(Date.now());
        setImmediate(() => onMessage!(delivery()));
      },
      prefetch: async () => undefined,
      assertQueue: async () => undefined,
      on: () => undefined,
      removeListener: () => undefined,
      publish: (_e, _r, _c, _o, callback) => (setTimeout(() => callback(null), 1), true),
    };
    return { channel, deliver: () => onMessage!(delivery()), nacks };
  }

  it('is retried after a growing pause, so it is processed once its dependency is back, not dead-lettered', async () => {
    const { channel, deliver } = redeliveringChannel();
    const backAt = Date.now() + 200;
    const runs: number[] = [];
    let effects = 0;
    const results: string[] = [];
    await consumeOnce(
      channel,
      'orders',
      () => {
        runs.push(Date.now());
        if (Date.now() < backAt) throw new Error('connect ECONNREFUSED');
        effects++;
      },
      // Pauses of 20-40, 40-80, 80-160, 160-320 ms: at least 300 ms before the fifth run.
      { store: memoryStore(), retryDelayMs: 40, onResult: (result) => results.push(result.status) },
    );
    deliver();
    await until(() => results.includes('processed') || results.includes('dead-letter'));
    expect(results).not.toContain('dead-letter');
    expect(results.at(-1)).toBe('processed');
    expect(effects).toBe(1);
    const gaps = runs.slice(1).map((at, i) => at - runs[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
  });

  it('waits about retryDelayMs (default 1 s) before the requeue, and cancel() requeues at once', async () => {
    const { channel, deliver, nacks } = redeliveringChannel();
    let runs = 0;
    const consumer = await consumeOnce(
      channel,
      'orders',
      () => {
        runs++;
        throw new Error('connect ECONNREFUSED');
      },
      { store: memoryStore() },
    );
    deliver();
    // Attempt 1 waits between 500 and 1000 ms.
    await sleep(300);
    expect(runs).toBe(1);
    expect(nacks).toEqual([]);
    const asked = Date.now();
    await consumer.cancel();
    expect(nacks).toHaveLength(1);
    expect(nacks[0]! - asked).toBeLessThan(100);
  });

  it('a busy message waiting out busyDelayMs is requeued at once by cancel()', async () => {
    const { channel, deliver, settled } = recordingChannel();
    const store = memoryStore();
    // Another consumer holds m-1.
    void dedupe('m-1', () => new Promise(() => undefined), { store });
    await sleep(5);
    const consumer = await consumeOnce(channel, 'orders', () => undefined, { store, busyDelayMs: 60_000 });
    deliver('m-1');
    await sleep(20);
    expect(settled).toEqual([]);
    const asked = Date.now();
    await consumer.cancel();
    expect(settled).toEqual([{ tag: 1, how: 'nack-requeue' }]);
    expect(Date.now() - asked).toBeLessThan(100);
  });
});

describe('consumeOnce, a handler that never settles', () => {
  it('gives its message up after maxRunMs, so a redelivery elsewhere takes it over and cancel() resolves', async () => {
    const { channel, deliver, settled } = recordingChannel();
    const store = memoryStore();
    const leaseMs = 20;
    const consumer = await consumeOnce(channel, 'orders', () => new Promise(() => undefined), { store, leaseMs, maxRunMs: 50, retryDelayMs: 60_000 });
    deliver('m-1');
    await sleep(leaseMs * 10);
    // Another consumer's redelivery of the same message.
    expect(await dedupe('m-1', (context) => context.recovery, { store, leaseMs })).toMatchObject({ status: 'processed', value: true });
    const cancelled = await Promise.race([consumer.cancel().then(() => 'resolved'), sleep(500).then(() => 'pending')]);
    expect(cancelled).toBe('resolved');
    expect(settled).toEqual([{ tag: 1, how: 'nack-requeue' }]);
  });
});
