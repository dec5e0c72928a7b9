// A poison message whose dead-letter route (`options.deadLetter`) routes to no queue (a typo in
// the routing key, an exchange with no binding, the dead-letter queue deleted) was LOST:
// RabbitMQ confirms (basic.ack) an unroutable message published without `mandatory`, so
// consumeOnce acked the original and no copy existed anywhere. The copy is now published
// mandatory and its basic.return (sent before its confirm) counts as a refusal: the original
// is requeued, as for a nacked copy. Against a real RabbitMQ: the fake channels in
// amqp-settle.test.ts cannot show in which order amqplib hands over the return and the confirm,
// or that a header survives the round trip.
import { connect, type GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeOnce, DEAD_LETTER_ERROR_HEADER, memoryStore, type DedupeResult } from '../../src/server/index.js';
import { hasRabbitMq, startRabbitMq, type RabbitMqProcess } from '../support/rabbitmq-process.js';
import { sleep } from '../helpers/clock.js';

describe.skipIf(!hasRabbitMq())('consumeOnce, a dead-letter route that routes nowhere', () => {
  let rabbit: RabbitMqProcess;
  beforeAll(async () => {
    rabbit = await startRabbitMq();
  }, 90_000);
  afterAll(async () => {
    await rabbit?.stop();
  });

  it('does not ack a poison message whose copy reached no queue', async () => {
    const connection = await connect(rabbit.url);
    try {
      const publisher = await connection.createConfirmChannel();
      await publisher.assertQueue('orders', { durable: true });
      const channel = await connection.createConfirmChannel();
      const results: Array<DedupeResult<unknown>['status']> = [];
      let runs = 0;
      const consumer = await consumeOnce(
        channel,
        'orders',
        () => {
          runs++;
          throw new Error('cannot parse order');
        },
        // A typo in the route: no queue has this name.
        { store: memoryStore(), maxAttempts: 1, busyDelayMs: 50, deadLetter: { exchange: '', routingKey: 'orders.dead-leter' }, onResult: (r) => results.push(r.status) },
      );
      publisher.sendToQueue('orders', Buffer.from('{"id":"poison"}'), { messageId: 'poison', persistent: true });
      await publisher.waitForConfirms();
      for (let i = 0; i < 200 && results.length === 0; i++) await sleep(25);
      await sleep(300);
      await consumer.cancel();
      await channel.close();
      expect(runs).toBe(1);
      // The message must still be somewhere: back in its queue (unacked, requeued) at least.
      expect((await publisher.checkQueue('orders')).messageCount).toBe(1);
    } finally {
      await connection.close();
    }
  }, 60_000);

  it('moves it, without running it again, once the route reaches a queue, and only then acks it', async () => {
    const connection = await connect(rabbit.url);
    try {
      const publisher = await connection.createConfirmChannel();
      await publisher.assertQueue('payments', { durable: true });
      await publisher.assertExchange('dead', 'direct', { durable: true });
      const channel = await connection.createConfirmChannel();
      const results: Array<DedupeResult<unknown>['status']> = [];
      let runs = 0;
      const consumer = await consumeOnce(
        channel,
        'payments',
        () => {
          runs++;
          throw new Error('cannot parse payment');
        },
        // An exchange with no binding yet.
        { store: memoryStore(), maxAttempts: 1, busyDelayMs: 50, deadLetter: { exchange: 'dead', routingKey: 'payments' }, onResult: (r) => results.push(r.status) },
      );
      publisher.sendToQueue('payments', Buffer.from('{"id":"poison"}'), { messageId: 'poison', persistent: true });
      await publisher.waitForConfirms();
      for (let i = 0; i < 200 && results.length < 2; i++) await sleep(25);
      // Returned at least once, requeued, moved again: still no copy anywhere, still not acked.
      expect(results.slice(0, 2)).toEqual(['dead-letter', 'dead-letter']);
      await publisher.assertQueue('payments.dead', { durable: true });
      await publisher.bindQueue('payments.dead', 'dead', 'payments');
      let copy: GetMessage | false = false;
      for (let i = 0; i < 200 && copy === false; i++) {
        copy = await publisher.get('payments.dead', { noAck: true });
        if (copy === false) await sleep(25);
      }
      await sleep(300);
      await consumer.cancel();
      await channel.close();
      expect(runs).toBe(1);
      expect(copy && copy.properties.messageId).toBe('poison');
      expect(copy && copy.properties.headers?.[DEAD_LETTER_ERROR_HEADER]).toBe('Error: cannot parse payment');
      // Exactly one copy got out, and the original was acked after it.
      expect((await publisher.checkQueue('payments.dead')).messageCount).toBe(0);
      expect((await publisher.checkQueue('payments')).messageCount).toBe(0);
    } finally {
      await connection.close();
    }
  }, 60_000);
});
