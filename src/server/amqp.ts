import { randomUUID } from 'node:crypto';
import { assertFunction, dedupe, errorText, resolveDedupeOptions, type DedupeContext, type DedupeOptions, type DedupeResult } from './dedupe.js';
import { checkNumber, InvalidOptionsError, MAX_TIMER_MS, wholeAtLeast } from './invalid-options-error.js';

/** The parts of an amqplib message the consumer reads. */
export interface AmqpMessage {
  readonly content: Buffer;
  readonly fields: { readonly deliveryTag: number; readonly redelivered: boolean; readonly routingKey: string; readonly exchange: string };
  readonly properties: {
    readonly messageId?: string | undefined;
    readonly headers?: Readonly<Record<string, unknown>> | undefined;
    readonly contentType?: string | undefined;
  };
}

/**
 * The few channel methods the consumer uses; an amqplib `ConfirmChannel`
 * (`connection.createConfirmChannel()`) fits as is. amqplib is not a dependency of
 * this package. A confirm channel, because a message is acknowledged only once its
 * dead-letter copy is confirmed by the broker: acknowledging first could lose it. And its
 * `'return'` event, because the broker confirms a copy that reached no queue too; only the
 * return of the copy, published `mandatory`, tells that it went nowhere.
 */
export interface AmqpConfirmChannelLike {
  consume(queue: string, onMessage: (message: AmqpMessage | null) => void, options?: { noAck?: boolean }): Promise<{ consumerTag: string }>;
  cancel(consumerTag: string): Promise<unknown>;
  ack(message: AmqpMessage): void;
  nack(message: AmqpMessage, allUpTo?: boolean, requeue?: boolean): void;
  prefetch(count: number): Promise<unknown>;
  assertQueue(queue: string, options?: { durable?: boolean }): Promise<unknown>;
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: { persistent?: boolean; mandatory?: boolean; messageId?: string; headers?: Record<string, unknown>; contentType?: string },
    callback: (error: unknown) => void,
  ): boolean;
  on(event: 'return', listener: (message: AmqpMessage) => void): unknown;
  removeListener(event: 'return', listener: (message: AmqpMessage) => void): unknown;
}

export interface ConsumeOnceOptions extends DedupeOptions {
  /** Messages handled at once by this consumer (the channel's prefetch). Default 10. */
  readonly prefetch?: number;
  /**
   * Where a message goes after `maxAttempts`, with its error in the `x-submit-once-error`
   * header. Default: the default exchange, routed to the durable queue `<queue>.dead-letter`
   * (declared by `consumeOnce`).
   */
  readonly deadLetter?: { readonly exchange: string; readonly routingKey: string };
  /** The id of a message; default its `messageId` property. A message without one (or with one not a string), or whose id this throws on, is dead-lettered at once. */
  readonly messageId?: (message: AmqpMessage) => string | undefined;
  /** Longest wait before requeueing a message another consumer is running. Default 1 s. */
  readonly busyDelayMs?: number;
  /**
   * Base wait before requeueing a message whose handler failed, so a short outage of what the
   * handler calls does not use up `maxAttempts` at once: after attempt n the wait is between half
   * and all of `retryDelayMs * 2^(n-1)`, at most 30 s (or `retryDelayMs`, if longer). The
   * message holds its prefetch slot meanwhile; `cancel()` requeues it at once. Default 1 s.
   */
  readonly retryDelayMs?: number;
  /** Told what happened to each delivery (logs, metrics, tests). */
  readonly onResult?: (result: DedupeResult<unknown>, message: AmqpMessage) => void;
}

export interface Consumer {
  readonly consumerTag: string;
  /**
   * Stops new deliveries and waits for the ones being handled, also when the channel refuses the
   * cancel (then rejects with its error). Messages waiting out a `busyDelayMs` or `retryDelayMs`
   * are requeued at once.
   */
  cancel(): Promise<void>;
}

export type MessageHandler = (message: AmqpMessage, context: DedupeContext) => unknown;

/** Header carrying a dead-lettered message's last error. */
export const DEAD_LETTER_ERROR_HEADER = 'x-submit-once-error';
/** The longest error the dead-letter header carries, in UTF-16 code units. */
const DEAD_LETTER_ERROR_MAX = 4_096;
/** Header carrying how many runs a dead-lettered message had. */
export const DEAD_LETTER_ATTEMPTS_HEADER = 'x-submit-once-attempts';
/**
 * Header carrying a per-publish id of a dead-letter copy: a returned copy is matched to its
 * publish by it. Not the message id: two deliveries of one id (or of none) can be moved at once.
 */
const DEAD_LETTER_COPY_HEADER = 'x-submit-once-copy-id';

/**
 * Consumes `queue` with manual acknowledgement, running `handler` at most once per
 * message id through `dedupe`: a message is acknowledged only after its completion is
 * recorded, so a consumer killed between its work and its ack gets a redelivery that is
 * acknowledged without running. Failures are requeued until `maxAttempts`, then
 * published (mandatory, with publisher confirms) to the dead-letter route and acknowledged
 * once the copy is confirmed and not returned.
 *
 * @example
 * const channel = await (await amqp.connect(url)).createConfirmChannel();
 * await consumeOnce(channel, 'orders', async (msg) => placeOrder(JSON.parse(msg.content.toString())), { store });
 */
export async function consumeOnce(
  channel: AmqpConfirmChannelLike,
  queue: string,
  handler: MessageHandler,
  options: ConsumeOnceOptions,
): Promise<Consumer> {
  // Before anything is consumed: each message would be refused the same way.
  resolveDedupeOptions(options);
  assertFunction('handler', handler);
  // Without it a copy that routes nowhere could not be told from a delivered one: the message would be lost.
  if (typeof channel?.on !== 'function' || typeof channel.removeListener !== 'function') {
    throw new TypeError("submit-once: consumeOnce needs a channel with on('return', listener) and removeListener (an amqplib ConfirmChannel), to see a dead-letter copy that reached no queue");
  }
  // An empty name is AMQP's "the queue last declared on this channel": the dead-letter queue.
  if (typeof queue !== 'string' || queue === '') throw new TypeError(`submit-once: consumeOnce needs a queue name, got ${JSON.stringify(queue) ?? String(queue)}`);
  // A prefetch of 0 is no limit at all, not none; AMQP carries it in 16 bits.
  if (options.prefetch !== undefined) checkNumber('prefetch', wholeAtLeast('prefetch', options.prefetch, 1), 1, true, 65_535);
  // A longer pause is fired by Node after 1 ms: a requeue spin.
  if (options.busyDelayMs !== undefined) checkNumber('busyDelayMs', options.busyDelayMs, 0, false, MAX_TIMER_MS);
  if (options.retryDelayMs !== undefined) checkNumber('retryDelayMs', options.retryDelayMs, 0, false, MAX_TIMER_MS);
  if (options.deadLetter !== undefined) checkDeadLetterRoute(options.deadLetter, queue);
  const deadLetter = options.deadLetter ?? { exchange: '', routingKey: `${queue}.dead-letter` };
  if (options.deadLetter === undefined) await channel.assertQueue(deadLetter.routingKey, { durable: true });
  await channel.prefetch(options.prefetch ?? 10);
  const idOf = options.messageId ?? ((message: AmqpMessage) => message.properties.messageId);
  const busyDelayMs = options.busyDelayMs ?? 1_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const running = new Set<Promise<void>>();
  // Pauses before a nack end early at cancel(): a caller stopping its consumer must not wait
  // out a retry backoff of up to 30 s per message; the broker hands the message on instead.
  const pauses = new Set<() => void>();
  let cancelled = false;
  const pause = (ms: number): Promise<void> =>
    cancelled
      ? Promise.resolve()
      : new Promise((resolve) => {
          const end = (): void => {
            clearTimeout(timer);
            pauses.delete(end);
            resolve();
          };
          const timer = setTimeout(end, ms);
          pauses.add(end);
        });

  // Copies published and not yet confirmed, by copy id: each marks its copy returned.
  const unconfirmed = new Map<string, () => void>();
  const onReturn = (returned: AmqpMessage): void => {
    // Also the channel's other mandatory publishes and other consumers' copies: not ours, no entry.
    const copyId = returned.properties.headers?.[DEAD_LETTER_COPY_HEADER];
    if (typeof copyId === 'string') unconfirmed.get(copyId)?.();
  };
  channel.on('return', onReturn);

  const moveToDeadLetter = async (message: AmqpMessage, error: string, attempts: number): Promise<void> => {
    const copyId = randomUUID();
    let returned = false;
    unconfirmed.set(copyId, () => (returned = true));
    try {
      await new Promise<void>((resolve, reject) => {
        const { messageId, contentType, headers } = message.properties;
        channel.publish(
          deadLetter.exchange,
          deadLetter.routingKey,
          message.content,
          {
            persistent: true,
            // The broker confirms a copy that reached no queue as well; only its return says so.
            mandatory: true,
            ...(messageId !== undefined ? { messageId } : {}),
            ...(contentType !== undefined ? { contentType } : {}),
            headers: {
              ...headers,
              [DEAD_LETTER_ERROR_HEADER]: cut(error),
              [DEAD_LETTER_ATTEMPTS_HEADER]: attempts,
              'x-original-queue': queue,
              [DEAD_LETTER_COPY_HEADER]: copyId,
            },
          },
          (failure) => {
            // The broker sends a copy's basic.return before its confirm, on the same channel.
            if (failure !== null && failure !== undefined) reject(failure);
            else if (returned) reject(new Error('submit-once: the dead-letter copy routed to no queue'));
            else resolve();
          },
        );
      });
    } finally {
      unconfirmed.delete(copyId);
    }
  };

  const settle = async (message: AmqpMessage, result: DedupeResult<unknown>): Promise<void> => {
    try {
      // An async observer fits the void return type; its rejection, unhandled, ends the process.
      const returned: unknown = options.onResult?.(result, message);
      if (returned instanceof Promise) returned.catch(() => undefined);
    } catch {
      // A throwing observer must not keep the delivery from its ack or nack: unsettled, it
      // would hold a prefetch slot until the channel closes, and enough of them stall the consumer.
    }
    switch (result.status) {
      case 'processed':
      case 'duplicate':
        return channel.ack(message);
      case 'failed':
        // Requeued at once, it comes straight back: an outage of a few hundred ms would use up
        // every attempt and dead-letter a sound message.
        await pause(retryDelay(retryDelayMs, result.attempt));
        return channel.nack(message, false, true);
      case 'busy':
        // Requeueing at once would spin on the message while its runner holds it.
        await pause(Math.min(busyDelayMs, Math.max(10, result.retryAfterMs)));
        return channel.nack(message, false, true);
      case 'dead-letter':
        // Only once the broker confirmed the copy: acknowledging first could lose the message.
        try {
          await moveToDeadLetter(message, result.error, result.attempts);
        } catch {
          // The broker refused the copy (a dead-letter queue full with reject-publish) or
          // returned it (the route reaches no queue) on a channel still open: requeued after a
          // pause, and moved again at its redelivery (its record says dead-letter: it does not
          // run), so it gets out once the route has room or a queue. Left unacknowledged it
          // held its prefetch slot for the channel's life.
          // A closed channel throws here too; the broker then requeues it itself.
          await pause(busyDelayMs);
          return channel.nack(message, false, true);
        }
        return channel.ack(message);
    }
  };

  const handle = async (message: AmqpMessage): Promise<void> => {
    // The option's type says string, but a header read at run time can be anything.
    let id: unknown;
    try {
      id = idOf(message);
    } catch (error) {
      // As poison as a message without an id: left unsettled it would hold a prefetch slot.
      return settle(message, { status: 'dead-letter', error: `the message id could not be read: ${errorText(error)}`, attempts: 0 });
    }
    const result: DedupeResult<unknown> =
      typeof id !== 'string' || id === ''
        ? { status: 'dead-letter', error: noIdReason(id), attempts: 0 }
        : await dedupe(id, (context) => handler(message, context), options).catch(
            // The store failed (unreachable): requeue, never run unguarded. The error goes to
            // onResult: a store that always fails (a missing table) must not just spin unseen.
            (error: unknown): DedupeResult<unknown> => ({ status: 'busy', retryAfterMs: busyDelayMs, error }),
          );
    await settle(message, result);
  };

  let consumerTag: string;
  try {
    ({ consumerTag } = await channel.consume(
      queue,
      (message) => {
        if (message === null) return; // the broker cancelled the consumer (queue deleted)
        const task = handle(message)
          .catch(() => {
            // The channel closed under us (ack or publish failed): the broker redelivers the
            // message to the next consumer, and dedupe makes that safe.
          })
          .finally(() => running.delete(task));
        running.add(task);
      },
      { noAck: false },
    ));
  } catch (error) {
    // A caller retrying on the same channel would pile up listeners.
    channel.removeListener('return', onReturn);
    throw error;
  }

  return {
    consumerTag,
    async cancel() {
      try {
        await channel.cancel(consumerTag);
      } finally {
        cancelled = true;
        for (const end of [...pauses]) end();
        // A closed channel refuses the cancel, and its handlers may still be running.
        await Promise.all([...running]);
        channel.removeListener('return', onReturn);
      }
    },
  };
}

function checkDeadLetterRoute(route: { readonly exchange: string; readonly routingKey: string }, queue: string): void {
  if (typeof route?.exchange !== 'string' || typeof route.routingKey !== 'string') {
    throw new InvalidOptionsError('deadLetter', 'expected { exchange, routingKey }, both strings');
  }
  // Each copy would come back, be moved again (its record says dead-letter) and acked: for ever.
  if (route.exchange === '' && route.routingKey === queue) {
    throw new InvalidOptionsError('deadLetter', `routes back into the consumed queue ${JSON.stringify(queue)}`);
  }
}

/**
 * Why an id cannot be used. Not only a missing one: a non-string (a header its publisher set
 * to null, a number) would be refused by dedupe, and that refusal requeue the message for ever.
 */
function noIdReason(id: unknown): string {
  if (id === undefined || id === '') return 'the message has no id, so it cannot be de-duplicated';
  return `the message id is not a string (${id === null ? 'null' : typeof id}), so it cannot be de-duplicated`;
}

/**
 * amqplib encodes a header table in a 64 KiB buffer and throws at publish for a longer one: an
 * error that long would be refused at every delivery, never dead-lettered.
 */
function cut(error: string): string {
  return error.length <= DEAD_LETTER_ERROR_MAX ? error : `${error.slice(0, DEAD_LETTER_ERROR_MAX)}… (cut from ${error.length} characters)`;
}

/** Growth stops here: a longer pause holds the prefetch slot long after an outage has passed. */
const RETRY_DELAY_CAP_MS = 30_000;

/**
 * The wait after failed attempt `attempt`: the doubled base, capped, with "equal jitter" (half
 * fixed, half random). Not full jitter: that can draw near-zero waits in a row, and the fixed
 * half is what guarantees the retries span an outage of about `base * (2^(maxAttempts-1) - 1) / 2`.
 */
function retryDelay(base: number, attempt: number): number {
  const ceiling = Math.min(Math.max(base, RETRY_DELAY_CAP_MS), base * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
