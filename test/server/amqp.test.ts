import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  consumeOnce,
  DEAD_LETTER_ATTEMPTS_HEADER,
  DEAD_LETTER_ERROR_HEADER,
  postgresStore,
  type Consumer,
  type DedupeResult,
} from '../../src/server/index.js';
import { hasPostgres, startPostgres, type PostgresProcess } from '../support/postgres-process.js';
import { hasRabbitMq, startRabbitMq, type RabbitMqProcess } from '../support/rabbitmq-process.js';
import { sleep } from '../helpers/clock.js';

const available = hasRabbitMq() && hasPostgres();
if (!available && process.env.CI !== undefined) {
  throw new Error('rabbitmq-server or PostgreSQL is not installed, and CI is set: the consumer must be tested in CI.');
}
if (!available) console.warn('\n[submit-once] rabbitmq-server or PostgreSQL not found: SKIPPING the RabbitMQ consumer suite.\n');

const fixture = fileURLToPath(new URL('./fixtures/amqp-consumer.ts', import.meta.url));

describe.skipIf(!available)('consumeOnce on RabbitMQ, effects counted in Postgres', () => {
  let rabbit: RabbitMqProcess;
  let postgres: PostgresProcess;
  let pool: pg.Pool;
  let connection: ChannelModel;
  let publisher: ConfirmChannel;
  let queueCounter = 0;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    [rabbit, postgres] = await Promise.all([startRabbitMq(), startPostgres()]);
    pool = new pg.Pool({ connectionString: postgres.url, max: 20 });
    pool.on('error', () => undefined);
    connection = await connect(rabbit.url);
    publisher = await connection.createConfirmChannel();
  }, 90_000);
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await pool?.end();
    await Promise.all([rabbit?.stop(), postgres?.stop()]);
  });

  /** A fresh queue and an empty effects table. */
  async function freshQueue(): Promise<string> {
    const queue = `orders-${++queueCounter}`;
    await publisher.assertQueue(queue, { durable: true });
    await pool.query('DROP TABLE IF EXISTS effects');
    // No unique index on purpose: a second effect must show up as a second row.
    await pool.query('CREATE TABLE effects (message_id text NOT NULL, recovery boolean NOT NULL)');
    return queue;
  }

  async function publish(queue: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) publisher.sendToQueue(queue, Buffer.from(JSON.stringify({ id })), { messageId: id, persistent: true });
    await publisher.waitForConfirms();
  }

  const effects = async (): Promise<number> => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM effects')).rows[0]?.n);

  /** Messages ready plus unacknowledged in `queue`, as the broker counts them after the consumers are gone. */
  async function depth(queue: string): Promise<number> {
    const channel = await connection.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  }

  function startConsumer(env: Record<string, string>): { child: ChildProcess; lines: string[]; exited: Promise<void> } {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, AMQP_URL: rabbit.url, DATABASE_URL: postgres.url, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanup.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    return { child, lines, exited };
  }

  async function killed(consumer: { child: ChildProcess; exited: Promise<void> }): Promise<void> {
    consumer.child.kill('SIGKILL');
    await consumer.exited;
  }

  describe('a consumer killed between its work and its ack', () => {
    async function crashBeforeAck(mode: 'dedupe' | 'plain'): Promise<{ queue: string; restarted: ReturnType<typeof startConsumer> }> {
      const queue = await freshQueue();
      const doomed = startConsumer({ QUEUE: queue, MODE: mode, HANG: 'before-ack' });
      await waitFor(() => doomed.lines.includes('ready'), 20_000);
      await publish(queue, ['order-1']);
      await waitFor(() => doomed.lines.includes('about-to-ack'), 10_000);
      await killed(doomed);
      expect(await effects()).toBe(1);
      // The broker requeues the unacknowledged message for the next consumer.
      const restarted = startConsumer({ QUEUE: queue, MODE: mode });
      return { queue, restarted };
    }

    it('gets the redelivery acknowledged without running again: one effect', async () => {
      const { queue, restarted } = await crashBeforeAck('dedupe');
      await waitFor(() => restarted.lines.includes('result duplicate -'), 20_000);
      // The result is reported before its ack goes out: killed before that, the broker requeues it.
      await waitFor(() => restarted.lines.includes('acked'), 10_000);
      await killed(restarted);
      expect(await effects()).toBe(1);
      expect(await depth(queue)).toBe(0);
    });

    it('control: a plain consumer runs the redelivery again, two effects', async () => {
      const { restarted } = await crashBeforeAck('plain');
      await waitFor(async () => (await effects()) >= 2, 20_000);
      await killed(restarted);
      expect(await effects()).toBe(2);
    });
  });

  it('lets the redelivery of a consumer killed mid-handler run after the lease, told it is a recovery: one effect', async () => {
    const queue = await freshQueue();
    const leaseMs = 1_500;
    const doomed = startConsumer({ QUEUE: queue, HANG: 'in-handler', LEASE_MS: String(leaseMs) });
    await waitFor(() => doomed.lines.includes('ready'), 20_000);
    await publish(queue, ['order-2']);
    await waitFor(() => doomed.lines.includes('in-handler'), 10_000);
    const killedAt = Date.now();
    await killed(doomed);
    const restarted = startConsumer({ QUEUE: queue, LEASE_MS: String(leaseMs) });
    await waitFor(() => restarted.lines.some((l) => l.startsWith('result processed')), 20_000);
    const ranAt = Date.now();
    // It waited out the dead consumer's lease (busy, requeued) before running.
    expect(ranAt - killedAt).toBeGreaterThanOrEqual(leaseMs - 100);
    expect(restarted.lines).toContain('result processed 2');
    const rows = await pool.query<{ recovery: boolean }>('SELECT recovery FROM effects');
    // The first run's effect only: the recovery run found it and did not write again.
    expect(rows.rows).toEqual([{ recovery: false }]);
    await waitFor(() => restarted.lines.includes('acked'), 10_000);
    await killed(restarted);
    expect(await depth(queue)).toBe(0);
  });

  it('moves a poison message to the dead-letter queue with its error after maxAttempts runs', async () => {
    const queue = await freshQueue();
    const channel = await connection.createConfirmChannel();
    const store = postgresStore(pool, { table: 'poison_keys' });
    let runs = 0;
    const consumer = await consumeOnce(
      channel,
      queue,
      () => {
        runs++;
        throw new Error('cannot parse order');
      },
      { store, maxAttempts: 3 },
    );
    cleanup.push(async () => {
      await consumer.cancel();
      await channel.close();
    });
    await publish(queue, ['poison-1']);
    const reader = await connection.createChannel();
    cleanup.push(() => reader.close());
    const found: { letter?: GetMessage } = {};
    await waitFor(async () => {
      const got = await reader.get(`${queue}.dead-letter`, { noAck: true });
      if (got !== false) found.letter = got;
      return got !== false;
    }, 10_000);
    const { letter } = found;
    if (letter === undefined) throw new Error('no dead letter');
    expect(runs).toBe(3);
    expect(letter.properties.messageId).toBe('poison-1');
    expect(letter.properties.headers?.[DEAD_LETTER_ERROR_HEADER]).toBe('Error: cannot parse order');
    expect(letter.properties.headers?.[DEAD_LETTER_ATTEMPTS_HEADER]).toBe(3);
    expect(JSON.parse(letter.content.toString())).toEqual({ id: 'poison-1' });
    await sleep(200);
    expect(runs).toBe(3);
    expect(await depth(queue)).toBe(0);
  });

  it('moves a poison message once its full dead-letter queue has room again, rather than hold it unacknowledged', async () => {
    const queue = await freshQueue();
    // A dead-letter queue already full, refusing more (the broker nacks the copy) until emptied.
    const full = `${queue}.full-dead-letter`;
    await publisher.assertQueue(full, { durable: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    publisher.sendToQueue(full, Buffer.from('earlier'), { persistent: true });
    await publisher.waitForConfirms();
    const channel = await connection.createConfirmChannel();
    const store = postgresStore(pool, { table: 'refused_keys' });
    const handled: string[] = [];
    const results: string[] = [];
    // Prefetch 1: a delivery left unacknowledged takes the consumer's only slot.
    const consumer = await consumeOnce(
      channel,
      queue,
      (message) => {
        const { id } = JSON.parse(message.content.toString()) as { id: string };
        if (id === 'poison') throw new Error('cannot parse order');
        handled.push(id);
      },
      { store, maxAttempts: 1, prefetch: 1, busyDelayMs: 50, deadLetter: { exchange: '', routingKey: full }, onResult: (result) => results.push(result.status) },
    );
    cleanup.push(async () => {
      await consumer.cancel();
      await channel.close();
    });
    await publish(queue, ['poison', 'good']);
    await waitFor(() => results.length >= 1, 10_000);
    await sleep(300);
    expect(handled).toEqual([]);
    // The operator empties the dead-letter queue: the poison message gets in, the next one runs.
    await publisher.purgeQueue(full);
    await waitFor(() => handled.includes('good'), 10_000);
    const reader = await connection.createChannel();
    cleanup.push(() => reader.close());
    const letter = await reader.get(full, { noAck: true });
    expect(letter !== false && letter.properties.messageId).toBe('poison');
    expect(await depth(queue)).toBe(0);
  });

  // amqplib encodes a header table in a 64 KiB buffer and throws at publish for a longer one:
  // a handler error of 100 kB (a validation error listing the payload) was never dead-lettered,
  // requeued and refused again for ever, and the messages behind it on prefetch 1 never ran.
  it('dead-letters a poison message whose error is longer than a header table holds, with the error cut', async () => {
    const queue = await freshQueue();
    const channel = await connection.createConfirmChannel();
    const store = postgresStore(pool, { table: 'long_error_keys' });
    const runs: string[] = [];
    const consumer = await consumeOnce(
      channel,
      queue,
      (message) => {
        const { id } = JSON.parse(message.content.toString()) as { id: string };
        runs.push(id);
        if (id === 'poison') throw new Error(`invalid order: ${'x'.repeat(100_000)}`);
      },
      { store, maxAttempts: 1, prefetch: 1, busyDelayMs: 50 },
    );
    cleanup.push(async () => {
      await consumer.cancel();
      await channel.close();
    });
    await publish(queue, ['poison', 'good']);
    await waitFor(() => runs.includes('good'), 10_000);
    const reader = await connection.createChannel();
    cleanup.push(() => reader.close());
    const letter = await reader.get(`${queue}.dead-letter`, { noAck: true });
    if (letter === false) throw new Error('no dead letter');
    expect(letter.properties.messageId).toBe('poison');
    const error = String(letter.properties.headers?.[DEAD_LETTER_ERROR_HEADER]);
    expect(error.startsWith('Error: invalid order: xxx')).toBe(true);
    expect(error.length).toBeLessThan(10_000);
    expect(runs).toEqual(['poison', 'good']);
    expect(await depth(queue)).toBe(0);
  });

  it('turns 1,000 messages with 10% duplicates into exactly 900 effects across two consumers', async () => {
    const queue = await freshQueue();
    const ids = Array.from({ length: 900 }, (_, i) => `m-${i}`);
    // Every tenth id published twice, the copies spread through the stream.
    const stream = ids.flatMap((id, i) => (i % 9 === 0 ? [id, id] : [id])).slice(0, 1_000);
    expect(stream).toHaveLength(1_000);
    expect(new Set(stream).size).toBe(900);

    const store = postgresStore(pool, { table: 'bulk_keys' });
    const results: Array<DedupeResult<unknown>['status']> = [];
    const consumers: Consumer[] = [];
    for (let i = 0; i < 2; i++) {
      const channel = await connection.createConfirmChannel();
      const consumer = await consumeOnce(
        channel,
        queue,
        async (_message, context) => {
          await pool.query('INSERT INTO effects (message_id, recovery) VALUES ($1, $2)', [context.messageId, context.recovery]);
        },
        { store, prefetch: 20, busyDelayMs: 20, onResult: (result) => results.push(result.status) },
      );
      consumers.push(consumer);
      cleanup.push(async () => {
        await consumer.cancel();
        await channel.close();
      });
    }
    await publish(queue, stream);
    await waitFor(() => results.filter((s) => s === 'processed' || s === 'duplicate').length >= 1_000, 60_000);
    expect(await effects()).toBe(900);
    const distinct = await pool.query<{ n: string }>('SELECT count(DISTINCT message_id) AS n FROM effects');
    expect(Number(distinct.rows[0]?.n)).toBe(900);
    expect(results.filter((s) => s === 'processed')).toHaveLength(900);
    expect(results.filter((s) => s === 'duplicate')).toHaveLength(100);
    await Promise.all(consumers.map((c) => c.cancel()));
    expect(await depth(queue)).toBe(0);
  }, 60_000);
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}
