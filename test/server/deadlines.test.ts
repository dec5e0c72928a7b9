import { describe, expect, it, vi } from 'vitest';
import { Deadlines, Waiter } from '../../src/server/stores/deadlines.js';

class Recorded extends Waiter {
  constructor(
    readonly name: string,
    private readonly expired: string[],
  ) {
    super();
  }
  expire(): void {
    this.expired.push(this.name);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Deadlines', () => {
  it('expires only the waiters not finished, wherever they stood in the list, each once', async () => {
    const expired: string[] = [];
    const deadlines = new Deadlines(30, () => new Error('late'));
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => deadlines.start(new Recorded(name, expired)));
    // The middle, the head and the tail finished, in that order: the list must stay linked.
    deadlines.finish(b!);
    deadlines.finish(a!);
    deadlines.finish(d!);
    deadlines.finish(b!);
    await sleep(60);
    expect(expired).toEqual(['c']);
    deadlines.finish(c!);
    const e = deadlines.start(new Recorded('e', expired));
    await sleep(60);
    expect(expired).toEqual(['c', 'e']);
    deadlines.finish(e);
  });

  it('gives a waiter started later its own full time, not the earlier one\'s', async () => {
    const expired: string[] = [];
    const deadlines = new Deadlines(60, () => new Error('late'));
    deadlines.start(new Recorded('first', expired));
    await sleep(35);
    deadlines.start(new Recorded('second', expired));
    await sleep(40);
    expect(expired).toEqual(['first']);
    await sleep(40);
    expect(expired).toEqual(['first', 'second']);
  });

  it('waits out a timeout past the largest timer (Infinity: none) in a few long steps, not a 1 ms timer firing again and again', async () => {
    const expired: string[] = [];
    const deadlines = new Deadlines(Infinity, () => new Error('late'));
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const waiter = deadlines.start(new Recorded('slow', expired));
    await sleep(30);
    const armed = timers.mock.calls.filter(([, ms]) => ms !== 30).map(([, ms]) => ms);
    deadlines.finish(waiter);
    // Node fires a delay past 2^31-1 ms after 1 ms; each firing re-armed the same delay.
    expect(armed).toEqual([2 ** 31 - 1]);
    expect(expired).toEqual([]);
  });
});
