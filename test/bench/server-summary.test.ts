import { describe, expect, it } from 'vitest';
import { roundOrder } from '../../bench/server/schedule.js';
import { againstMemory, marginOverMemory, summarise, type Pair } from '../../bench/server/summary.js';

// What a loaded machine does to a bench: every round's CPU per request moves by 2x, and
// both slices of an adjacent pair move together.
const load = [1, 1.9, 1.2, 2.1, 1.1, 1.6, 1, 2, 1.3, 1.8];
const pair = (bare: number, added: number, rps: number): Pair => ({
  target: { cpu: load.map((l) => (bare + added) * l), rps: load.map((l) => (rps * 0.8) / l) },
  bare: { cpu: load.map((l) => bare * l), rps: load.map((l) => rps / l) },
});

describe('summarise', () => {
  it('takes the added cost from each adjacent pair, so load that hits both sides cancels', () => {
    const ours = pair(100, 10, 5000);
    const { added, rpsVsBare } = summarise(ours);
    // The load scales the added cost too (CPU per request rises with it), but never
    // turns it into the swing of the raw CPU figures (100 to 210).
    expect(added.median).toBeGreaterThanOrEqual(10);
    expect(added.low).toBeGreaterThanOrEqual(10);
    expect(added.high).toBeLessThanOrEqual(21);
    expect(rpsVsBare.median).toBeCloseTo(0.8);
    expect(rpsVsBare.low).toBeCloseTo(0.8);
  });

  it('compares the added cost with the peer\'s in the same rounds', () => {
    const s = summarise(pair(100, 10, 5000), pair(100, 20, 5000));
    expect(s.vsPeer?.median).toBeCloseTo(0.5);
    expect(s.overPeer?.median).toBeLessThan(0);
    expect(s.overPeer?.high).toBeLessThan(0);
  });

  it('resamples the processes as well as the rounds, so one process\'s luck widens the interval', () => {
    // A no-op target served by six processes, three rounds each: each process's luck
    // shifts all of its rounds (five of them by +25 to +35 µs, one by -40), the rounds
    // of one process agree closely. Its true cost is 0.
    const luck = [25, 35, 30, -40, 28, 32];
    const processes = luck.flatMap((_, p) => [p, p, p]);
    const bareCpu = processes.map((_, i) => 200 + (i % 3));
    const noop: Pair = {
      target: { cpu: processes.map((p, i) => bareCpu[i]! + luck[p]! + (i % 2)), rps: processes.map(() => 4000) },
      bare: { cpu: bareCpu, rps: processes.map(() => 4000) },
    };
    const byRound = summarise(noop).added;
    expect(byRound.low).toBeGreaterThan(0);
    const byProcess = summarise({ ...noop, processes }).added;
    expect(byProcess.low).toBeLessThanOrEqual(0);
    expect(byProcess.high).toBeGreaterThanOrEqual(byRound.high);
  });

  it('reads the difference from the peer from the two targets alone, without the bare slices\' noise', () => {
    // Both targets add what they add to the same framework, each round under the same
    // load; the bare slices next to them carry noise of their own (up to 30 µs).
    const noise = [30, -25, 10, -30, 20, 0, -15, 25, -5, 15];
    const noisy = (p: Pair, shift: number): Pair => ({ ...p, bare: { ...p.bare, cpu: p.bare.cpu.map((c, i) => c + noise[(i + shift) % noise.length]!) } });
    const ours = noisy(pair(100, 10, 5000), 0);
    const peer = noisy(pair(100, 20, 5000), 5);
    const { overPeer, overPeerDirect } = summarise(ours, peer);
    expect(overPeerDirect!.median).toBeLessThanOrEqual(-10);
    expect(overPeerDirect!.high).toBeLessThan(0);
    expect(overPeerDirect!.high - overPeerDirect!.low).toBeLessThan(overPeer!.high - overPeer!.low);
  });

  it('says nothing about the peer for the peer itself or without one', () => {
    const peer = pair(100, 20, 5000);
    expect(summarise(peer, peer).vsPeer).toBeUndefined();
    expect(summarise(peer).overPeer).toBeUndefined();
  });
});

describe('againstMemory', () => {
  it('compares a store with the memory store round by round, in total and added CPU', () => {
    // file: 100 bare + 30 added; memory: 100 bare + 20 added, both under the same load.
    const { cpu, added } = againstMemory(pair(100, 30, 5000), pair(100, 20, 5000));
    expect(cpu.median).toBeCloseTo(130 / 120);
    expect(added.median).toBeCloseTo(1.5);
    expect(added.low).toBeGreaterThan(1.4);
    expect(added.high).toBeLessThan(1.6);
  });
});

describe('marginOverMemory', () => {
  it("holds a store's figure to a multiple of memory's in the same round", () => {
    // redis: 60 added, memory 20: 2x memory's is 40, so 20 over; file: 130 against 1.1 x 120 = 132.
    const added = marginOverMemory(pair(100, 60, 5000), pair(100, 20, 5000), { measure: 'added', factor: 2 });
    expect(added.median).toBeGreaterThanOrEqual(20);
    expect(added.low).toBeGreaterThanOrEqual(20);
    const cpu = marginOverMemory(pair(100, 30, 5000), pair(100, 20, 5000), { measure: 'cpu', factor: 1.1 });
    expect(cpu.high).toBeLessThan(0);
    expect(cpu.median).toBeLessThanOrEqual(-2);
  });

  it('stays finite when memory\'s added cost is near 0 in some rounds, where the ratio of medians swings', () => {
    const memory: Pair = { target: { cpu: [100, 101, 99, 100.5, 100, 99.5], rps: [1, 1, 1, 1, 1, 1] }, bare: { cpu: [100, 100, 100, 100, 100, 100], rps: [1, 1, 1, 1, 1, 1] } };
    const redis: Pair = { target: { cpu: [130, 131, 129, 130, 131, 130], rps: [1, 1, 1, 1, 1, 1] }, bare: memory.bare };
    const margin = marginOverMemory(redis, memory, { measure: 'added', factor: 2 });
    expect(margin.low).toBeGreaterThan(25);
    expect(margin.high).toBeLessThan(33);
  });
});

describe('roundOrder', () => {
  const pairs = [['a', 'bare'], ['b', 'bare'], ['c', 'other']] as const;

  it('puts every target next to a slice of its own baseline', () => {
    for (let round = 0; round < 6; round++) {
      const order = roundOrder(pairs, round);
      expect(order).toHaveLength(6);
      for (let i = 0; i < order.length; i += 2) {
        expect(order[i]!.pair).toBe(order[i + 1]!.pair);
        expect(new Set([order[i]!.side, order[i + 1]!.side])).toEqual(new Set(['target', 'bare']));
        expect(order.find((s) => s.pair === order[i]!.pair && s.side === 'bare')!.name).toBe(pairs[order[i]!.pair]![1]);
      }
    }
  });

  it('rotates the pairs and swaps their sides, so no slice always follows the same one', () => {
    const predecessors = new Map<string, Set<string>>();
    let previous = '';
    for (let round = 0; round < 6; round++) {
      for (const { name, side, pair } of roundOrder(pairs, round)) {
        const label = `${name}/${side}/${pair}`;
        if (previous !== '') predecessors.set(label, (predecessors.get(label) ?? new Set()).add(previous));
        previous = label;
      }
    }
    for (const [label, before] of predecessors) expect(before.size, label).toBeGreaterThan(1);
  });
});
