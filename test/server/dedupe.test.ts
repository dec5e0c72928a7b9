import { setTimeout as wait } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  consumeOnce,
  dedupe,
  isLeaseLostError,
  memoryStore,
  type AmqpConfirmChannelLike,
  type DedupeContext,
  type DedupeOptions,
} from '../../src/server/index.js';
import { manualClock, sleep } from '../helpers/clock.js';

describe('dedupe on the memory store', () => {
  it('runs a message once and reports its redeliveries as duplicates', async () => {
    const store = memoryStore();
    let runs = 0;
    const first = await dedupe('m-1', () => ++runs, { store });
    expect(first).toEqual({ status: 'processed', value: 1, attempt: 1 });
    expect(await dedupe('m-1', () => ++runs, { store })).toEqual({ status: 'duplicate' });
    expect(await dedupe('m-2', () => ++runs, { store })).toMatchObject({ status: 'processed', value: 2 });
    expect(runs).toBe(2);
  });

  it('retries a failed handler, counting attempts, and dead-letters it after maxAttempts with its error', async () => {
    const store = memoryStore();
    const seen: number[] = [];
    const fail = ({ attempt }: { attempt: number }): never => {
      seen.push(attempt);
      throw new TypeError('bad payload');
    };
    expect(await dedupe('p', fail, { store, maxAttempts: 3 })).toMatchObject({ status: 'failed', attempt: 1 });
    expect(await dedupe('p', fail, { store, maxAttempts: 3 })).toMatchObject({ status: 'failed', attempt: 2 });
    expect(await dedupe('p', fail, { store, maxAttempts: 3 })).toEqual({ status: 'dead-letter', error: 'TypeError: bad payload', attempts: 3 });
    // A redelivery of the dead-lettered message (its mover crashed) is moved again, never run.
    expect(await dedupe('p', fail, { store, maxAttempts: 3 })).toEqual({ status: 'dead-letter', error: 'TypeError: bad payload', attempts: 3 });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('keeps a running message busy for its lease, then lets a redelivery take over as a recovery', async () => {
    const store = memoryStore();
    const clock = manualClock();
    // A consumer that dies mid-handler: its handler never settles, nothing completes the claim.
    void dedupe('c', () => new Promise(() => undefined), { store, leaseMs: 60_000, now: clock.now });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await dedupe('c', () => 'again', { store, leaseMs: 60_000, now: clock.now })).toMatchObject({ status: 'busy', retryAfterMs: 60_000 });
    clock.advance(60_001);
    const contexts: unknown[] = [];
    const taken = await dedupe('c', (context) => contexts.push(context), { store, leaseMs: 60_000, now: clock.now });
    expect(taken).toMatchObject({ status: 'processed', attempt: 2 });
    expect(contexts).toEqual([{ messageId: 'c', attempt: 2, recovery: true, signal: expect.any(AbortSignal) }]);
  });

  it('dead-letters a message whose runs keep crashing, without running it again', async () => {
    const store = memoryStore();
    const clock = manualClock();
    for (let i = 0; i < 2; i++) {
      void dedupe('k', () => new Promise(() => undefined), { store, leaseMs: 1_000, maxAttempts: 2, now: clock.now });
      await new Promise((resolve) => setTimeout(resolve, 10));
      clock.advance(1_001);
    }
    let ran = false;
    const result = await dedupe('k', () => (ran = true), { store, leaseMs: 1_000, maxAttempts: 2, now: clock.now });
    expect(result).toMatchObject({ status: 'dead-letter', attempts: 2 });
    expect(ran).toBe(false);
  });
});

// The transactional Postgres store releases a failed run by rolling its claim back: the run
// leaves no count, and a message that keeps failing would be requeued for ever.
describe('a store that cannot count failed runs', () => {
  const transactional = () => ({ ...memoryStore(), transactional: true });

  it('dedupe refuses it with a TypeError, before claiming or running anything', async () => {
    const store = transactional();
    let runs = 0;
    await expect(dedupe('m1', () => runs++, { store })).rejects.toThrow(TypeError);
    expect(runs).toBe(0);
    expect(await store.claim({ key: JSON.stringify(['message', 'm1']), fingerprint: 'message', leaseMs: 1000, retentionMs: 1000, now: 0, recover: true })).toMatchObject({ status: 'claimed', executions: 1 });
  });

  it('consumeOnce refuses it with a TypeError, before consuming anything', async () => {
    const calls: string[] = [];
    const channel = new Proxy({} as AmqpConfirmChannelLike, {
      get: (_target, name) => () => {
        calls.push(String(name));
        return Promise.resolve({ consumerTag: 't' });
      },
    });
    await expect(consumeOnce(channel, 'orders', () => undefined, { store: transactional() })).rejects.toThrow(TypeError);
    expect(calls).toEqual([]);
  });
});

// A lease of 0 (or NaN) ran out at its claim: a second delivery took the message over
// while the first still ran. A NaN maxAttempts never compared true: never dead-lettered.
describe('bad options', () => {
  it('dedupe refuses a lease that is not a positive number, before two deliveries can run the message at once', async () => {
    const store = memoryStore();
    let runs = 0;
    const slow = async (): Promise<void> => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const both = await Promise.allSettled([dedupe('m', slow, { store, leaseMs: 0 }), dedupe('m', slow, { store, leaseMs: 0 })]);
    expect(both.map((r) => r.status === 'rejected' && r.reason instanceof RangeError)).toEqual([true, true]);
    expect(runs).toBe(0);
  });

  it.each([
    ['leaseMs', { leaseMs: Number.NaN }],
    ['leaseMs', { leaseMs: -1 }],
    ['retentionMs', { retentionMs: 0 }],
    ['maxAttempts', { maxAttempts: Number.NaN }],
    ['maxAttempts', { maxAttempts: 0 }],
    ['maxAttempts', { maxAttempts: 2.5 }],
    ['maxRunMs', { maxRunMs: 0 }],
    ['maxRunMs', { maxRunMs: Number.NaN }],
    // Node fires a longer timer after 1 ms: every run would be given up at once.
    ['maxRunMs', { maxRunMs: 2_147_483_648 }],
  ])('dedupe and consumeOnce refuse %s %o with an InvalidOptionsError (a RangeError) naming it, before running or consuming anything', async (name, bad) => {
    let runs = 0;
    await expect(dedupe('m', () => runs++, { store: memoryStore(), ...bad })).rejects.toMatchObject({ name: 'InvalidOptionsError', option: name });
    await expect(dedupe('m', () => runs++, { store: memoryStore(), ...bad })).rejects.toThrow(RangeError);
    expect(runs).toBe(0);
    const calls: string[] = [];
    const channel = new Proxy({} as AmqpConfirmChannelLike, {
      get: (_target, method) => () => {
        calls.push(String(method));
        return Promise.resolve({ consumerTag: 't' });
      },
    });
    await expect(consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), ...bad })).rejects.toThrow(RangeError);
    expect(calls).toEqual([]);
  });

  it('consumeOnce refuses a prefetch or busyDelayMs that is not a positive number (prefetch 0 is no limit at all)', async () => {
    const channel = new Proxy({} as AmqpConfirmChannelLike, { get: () => () => Promise.resolve({ consumerTag: 't' }) });
    await expect(consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), prefetch: 0 })).rejects.toMatchObject({ option: 'prefetch' });
    await expect(consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), busyDelayMs: Number.NaN })).rejects.toMatchObject({ option: 'busyDelayMs' });
  });

  it('consumeOnce refuses a retryDelayMs that is not a positive number or longer than Node keeps a timer', async () => {
    const channel = new Proxy({} as AmqpConfirmChannelLike, { get: () => () => Promise.resolve({ consumerTag: 't' }) });
    for (const retryDelayMs of [0, -1, Number.NaN, 2_147_483_648, Infinity]) {
      await expect(consumeOnce(channel, 'orders', () => undefined, { store: memoryStore(), retryDelayMs })).rejects.toMatchObject({ name: 'InvalidOptionsError', option: 'retryDelayMs' });
    }
  });
});

// amqplib types a received message's `messageId` as `any`, so `dedupe(msg.properties.messageId, ...)`
// compiles; a message published without one gave `undefined`, and every such message shared the
// key `["message",null]`: the second one was reported a duplicate and acknowledged, never run.
describe('a message id that is not a non-empty string', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['empty', ''],
    ['a number', 42],
  ])('dedupe refuses %s with a TypeError, before claiming or running anything', async (_name, id) => {
    const store = memoryStore();
    let runs = 0;
    const first = dedupe(id as unknown as string, () => runs++, { store });
    await expect(first).rejects.toThrow(TypeError);
    await expect(dedupe(id as unknown as string, () => runs++, { store })).rejects.toThrow(/message id/);
    expect(runs).toBe(0);
  });
});

// A lease above twice the longest timer made the half-lease renew interval overflow, which
// Node fires after 1 ms: the store was renewed about a thousand times a second per message.
describe('a very long lease', () => {
  it('is renewed at the longest timer Node keeps, not every millisecond', async () => {
    const base = memoryStore();
    let renews = 0;
    const store = { ...base, renew: (request: Parameters<typeof base.renew>[0]) => (renews++, base.renew(request)) };
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const result = await dedupe('long', () => new Promise((resolve) => setTimeout(resolve, 60)), { store, leaseMs: 5_000_000_000 });
      expect(result).toMatchObject({ status: 'processed' });
    } finally {
      process.off('warning', onWarning);
    }
    expect(renews).toBe(0);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });
});

// The README said "at most once per message id" with no bound: the bound is retentionMs.
describe('retention', () => {
  it('drops a duplicate within retentionMs and runs one published after it again', async () => {
    const store = memoryStore();
    const clock = manualClock();
    let runs = 0;
    const options = { store, retentionMs: 60_000, now: clock.now };
    await dedupe('r', () => runs++, options);
    clock.advance(59_999);
    expect(await dedupe('r', () => runs++, options)).toEqual({ status: 'duplicate' });
    clock.advance(2);
    expect(await dedupe('r', () => runs++, options)).toMatchObject({ status: 'processed', attempt: 1 });
    expect(runs).toBe(2);
  });
});

// Missing pieces found only per message: no store gave "Cannot read properties of undefined
// (reading 'transactional')"; a handler that is not a function was claimed, run, counted as a
// failed attempt and, after maxAttempts, dead-lettered, for every message; an empty queue name
// is AMQP's "the last queue declared on this channel", which for consumeOnce was `.dead-letter`.
describe('bad arguments, refused before anything is consumed or claimed', () => {
  const recording = (): { channel: AmqpConfirmChannelLike; calls: string[] } => {
    const calls: string[] = [];
    const channel = new Proxy({} as AmqpConfirmChannelLike, {
      get: (_target, method) => () => {
        calls.push(String(method));
        return Promise.resolve({ consumerTag: 't' });
      },
    });
    return { channel, calls };
  };

  it('dedupe and consumeOnce refuse a missing store with an InvalidOptionsError naming it', async () => {
    await expect(dedupe('m', () => 1, {} as DedupeOptions)).rejects.toMatchObject({ name: 'InvalidOptionsError', option: 'store' });
    const { channel, calls } = recording();
    await expect(consumeOnce(channel, 'orders', () => 1, {} as DedupeOptions)).rejects.toMatchObject({ name: 'InvalidOptionsError', option: 'store' });
    expect(calls).toEqual([]);
  });

  it('dedupe refuses a handler that is not a function with a TypeError, before claiming', async () => {
    const base = memoryStore();
    let claims = 0;
    const store = { ...base, claim: (request: Parameters<typeof base.claim>[0]) => (claims++, base.claim(request)) };
    await expect(dedupe('m', undefined as unknown as () => void, { store })).rejects.toThrow(TypeError);
    expect(claims).toBe(0);
  });

  // amqplib failed a prefetch over AMQP's 16 bits with 'The value of "value" is out of range',
  // after the dead-letter queue was declared. A dead-letter route back into the consumed queue
  // made a poison message go round for ever: each copy is moved again (its record says
  // dead-letter), acked, and published back, as fast as the broker confirms.
  it.each([
    ['prefetch', { prefetch: 65_536 }],
    ['deadLetter', { deadLetter: { exchange: '', routingKey: 'orders' } }],
    ['deadLetter', { deadLetter: { exchange: 'dlx', routingKey: undefined as unknown as string } }],
  ])('consumeOnce refuses %s %o with an InvalidOptionsError naming it, before consuming anything', async (name, bad) => {
    const { channel, calls } = recording();
    await expect(consumeOnce(channel, 'orders', () => 1, { store: memoryStore(), ...bad })).rejects.toMatchObject({ name: 'InvalidOptionsError', option: name });
    expect(calls).toEqual([]);
  });

  it('consumeOnce refuses a handler that is not a function, or a queue name that is not a non-empty string, with a TypeError', async () => {
    for (const [queue, handler] of [
      ['orders', undefined],
      ['', () => 1],
      [undefined, () => 1],
    ] as const) {
      const { channel, calls } = recording();
      await expect(consumeOnce(channel, queue as unknown as string, handler as unknown as () => void, { store: memoryStore() })).rejects.toThrow(TypeError);
      expect(calls).toEqual([]);
    }
  });
});

// The handler ran, then store.complete failed once (a connection reset, a failover): dedupe
// rejected, consumeOnce requeued the message with its claim still running, and the redelivery
// after the lease ran the handler again, told recovery: true. Two effects from one store blip.
describe('dedupe, a store blip while recording the completion', () => {
  it('records it at a later try, so the redelivery is a duplicate and the handler ran once', async () => {
    const base = memoryStore();
    let failNext = true;
    const store = {
      ...base,
      complete: (request: Parameters<typeof base.complete>[0]) => {
        if (!failNext) return base.complete(request);
        failNext = false;
        return Promise.reject(new Error('connection reset'));
      },
    };
    const contexts: unknown[] = [];
    const handler = (context: unknown): void => void contexts.push(context);
    expect(await dedupe('m-1', handler, { store, leaseMs: 30 })).toMatchObject({ status: 'processed', attempt: 1 });
    // A redelivery after the lease.
    await sleep(60);
    expect(await dedupe('m-1', handler, { store, leaseMs: 30 })).toEqual({ status: 'duplicate' });
    expect(contexts).toHaveLength(1);
  });

  it('keeps renewing the lease while it tries again', async () => {
    const base = memoryStore();
    let renewals = 0;
    let handlerDone = false;
    const store = {
      ...base,
      renew: (request: Parameters<typeof base.renew>[0]) => {
        if (handlerDone) renewals++;
        return base.renew(request);
      },
      // Down until the lease has been renewed after the handler returned.
      complete: (request: Parameters<typeof base.complete>[0]) => (renewals > 0 ? base.complete(request) : Promise.reject(new Error('connection reset'))),
    };
    const result = await dedupe('m-1', () => void (handlerDone = true), { store, leaseMs: 100 });
    expect(result).toMatchObject({ status: 'processed' });
    expect(renewals).toBeGreaterThan(0);
  });

  it('gives up with the store error within about a lease when the completion keeps failing', async () => {
    const store = { ...memoryStore(), complete: () => Promise.reject(new Error('value too long for type')) };
    let completes = 0;
    const counting = { ...store, complete: () => (completes++, store.complete()) };
    const started = Date.now();
    await expect(dedupe('m-1', () => undefined, { store: counting, leaseMs: 50 })).rejects.toThrow('value too long for type');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(completes).toBeGreaterThan(1);
  });
});

describe('dedupe, a lease lost mid-handler', () => {
  // A handler that honours the signal: its effect happens only if it was not told to stop.
  function honouring(): { handler: (context: DedupeContext) => Promise<void>; runs: number; effects: number; most: number; reasons: unknown[] } {
    const seen = { runs: 0, effects: 0, most: 0, reasons: [] as unknown[] };
    let concurrent = 0;
    const handler = async ({ signal }: DedupeContext): Promise<void> => {
      seen.runs++;
      seen.most = Math.max(seen.most, ++concurrent);
      try {
        await wait(200, undefined, { signal });
        seen.effects++;
      } catch (error) {
        seen.reasons.push(signal.reason);
        throw error;
      } finally {
        concurrent--;
      }
    };
    return Object.assign(seen, { handler });
  }

  it('aborts the signal once no renew succeeded for a lease, so a handler honouring it stops before a redelivery runs', async () => {
    const base = memoryStore();
    // The first consumer cannot reach the store to renew (a partition); the second can.
    const cutOff = { ...base, renew: () => Promise.reject(new Error('connection reset')) };
    const seen = honouring();
    const first = dedupe('m-1', seen.handler, { store: cutOff, leaseMs: 40 });
    await sleep(100);
    const second = await dedupe('m-1', seen.handler, { store: base, leaseMs: 40 });
    expect(await first).toMatchObject({ status: 'failed', attempt: 1 });
    expect(second).toMatchObject({ status: 'processed', attempt: 2 });
    expect(seen.most).toBe(1);
    expect(seen.effects).toBe(1);
    expect(seen.reasons).toHaveLength(1);
    expect(isLeaseLostError(seen.reasons[0])).toBe(true);
    expect(seen.reasons[0]).toMatchObject({ name: 'LeaseLostError', code: 'lease-lost', reason: 'expired' });
  });

  it('aborts the signal as soon as a renew answers that the claim is no longer held', async () => {
    const base = memoryStore();
    const seen = honouring();
    const started = performance.now();
    const result = await dedupe('m-2', seen.handler, { store: { ...base, renew: async () => false }, leaseMs: 200 });
    // The first renew, at half a lease, answers false: told then, not once the lease is over.
    expect(performance.now() - started).toBeLessThan(190);
    expect(result).toMatchObject({ status: 'failed' });
    expect(seen.effects).toBe(0);
    expect(seen.reasons[0]).toMatchObject({ name: 'LeaseLostError', reason: 'lost' });
  });

  it('cannot stop a handler that ignores the signal: a redelivery runs alongside, told recovery', async () => {
    const base = memoryStore();
    const cutOff = { ...base, renew: () => Promise.reject(new Error('connection reset')) };
    let effects = 0;
    const first = dedupe('m-4', async () => (await wait(150), ++effects), { store: cutOff, leaseMs: 40 });
    await sleep(60);
    const contexts: DedupeContext[] = [];
    expect(await dedupe('m-4', (context) => (contexts.push(context), ++effects), { store: base, leaseMs: 40 })).toMatchObject({ status: 'processed' });
    expect(contexts[0]).toMatchObject({ recovery: true });
    expect(await first).toMatchObject({ status: 'processed' });
    expect(effects).toBe(2);
  });

  it('leaves the signal alone for a run that keeps its lease', async () => {
    const store = memoryStore();
    let signal: AbortSignal | undefined;
    expect(await dedupe('m-3', async (context) => ((signal = context.signal), wait(60)), { store, leaseMs: 20 })).toMatchObject({ status: 'processed' });
    expect(signal?.aborted).toBe(false);
  });
});

describe('dedupe, a handler that never settles', () => {
  it('is given up after maxRunMs: the signal aborts, the run answers failed, and a redelivery after the lease is a recovery', async () => {
    const store = memoryStore();
    let signal: AbortSignal | undefined;
    const started = performance.now();
    const hung = await dedupe('h', (context) => ((signal = context.signal), new Promise(() => undefined)), { store, leaseMs: 100, maxRunMs: 50 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(hung).toMatchObject({ status: 'failed', attempt: 1, error: { name: 'LeaseLostError', reason: 'max-run' } });
    expect(signal?.aborted).toBe(true);
    expect(isLeaseLostError(signal?.reason)).toBe(true);
    // Not released: the hung run may still take effect, so the claim runs out as a crash's would.
    expect(await dedupe('h', () => 'again', { store, leaseMs: 100 })).toMatchObject({ status: 'busy' });
    await sleep(120);
    const contexts: DedupeContext[] = [];
    expect(await dedupe('h', (context) => contexts.push(context), { store, leaseMs: 100 })).toMatchObject({ status: 'processed', attempt: 2 });
    expect(contexts[0]).toMatchObject({ attempt: 2, recovery: true });
  });

  it('is dead-lettered when maxRunMs ends its last attempt', async () => {
    const store = memoryStore();
    const result = await dedupe('h2', () => new Promise(() => undefined), { store, leaseMs: 30, maxRunMs: 20, maxAttempts: 1 });
    expect(result).toMatchObject({ status: 'dead-letter', attempts: 1, error: expect.stringContaining('LeaseLostError') });
    expect(await dedupe('h2', () => 'again', { store, leaseMs: 30 })).toMatchObject({ status: 'dead-letter' });
  });
});
