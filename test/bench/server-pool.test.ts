import { describe, expect, it } from 'vitest';
import { poolReport, pooledPairs, type RunSamples } from '../../bench/server/pool.js';
import { summarise } from '../../bench/server/summary.js';

// One run of two processes, two rounds each; `shift` moves every figure of the run.
const run = (started: string, shift: number, luck: readonly number[]): RunSamples => {
  const processes = [0, 1, 0, 1];
  const side = (base: number) => ({ cpu: processes.map((p) => base + shift + luck[p]!), rps: processes.map(() => 5000) });
  return {
    started,
    pairs: [
      { target: 'express+submit-once(memory)', bare: 'express', samples: { target: side(130), bare: side(100), processes } },
      { target: 'express+@node-idempotency/core', bare: 'express', samples: { target: side(140), bare: side(100), processes } },
    ],
  };
};

describe('pooledPairs', () => {
  it('puts every run\'s rounds together, each run\'s processes groups of their own', () => {
    const pooled = pooledPairs([run('a', 0, [0, 0]), run('b', 50, [0, 0]), run('c', 0, [0, 0])]);
    const ours = pooled.get('express+submit-once(memory)')!;
    expect(ours.target.cpu).toHaveLength(12);
    expect(ours.bare.cpu).toHaveLength(12);
    // Process 0 of run a and process 0 of run b are not one process.
    expect(new Set(ours.processes).size).toBe(6);
    expect(ours.processes).toEqual([0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5]);
    expect(pooled.get('express+@node-idempotency/core')!.processes).toEqual(ours.processes);
  });

  it('gives the same estimates as one run when the runs agree, with the pairs kept in step', () => {
    const pooled = pooledPairs([run('a', 0, [3, -3]), run('b', 20, [3, -3])]);
    const s = summarise(pooled.get('express+submit-once(memory)')!, pooled.get('express+@node-idempotency/core'));
    expect(s.added.median).toBe(30);
    expect(s.overPeer!.median).toBe(-10);
    expect(s.overPeerDirect!.median).toBe(-10);
    expect(s.overPeerDirect!.high).toBe(-10);
  });

  it('refuses runs of different targets', () => {
    const other: RunSamples = { ...run('b', 0, [0, 0]), pairs: run('b', 0, [0, 0]).pairs.slice(0, 1) };
    expect(() => pooledPairs([run('a', 0, [0, 0]), other])).toThrow(/differ/);
  });
});

describe('poolReport', () => {
  const withFloor = (started: string): RunSamples => {
    const base = run(started, 0, [0, 0]);
    const floor = { ...base.pairs[0]!, target: 'express+floor(our store)' };
    const side = (cpu: number) => ({ cpu: [cpu, cpu, cpu, cpu], rps: [5000, 5000, 5000, 5000] });
    return { started, pairs: [...base.pairs, { ...floor, samples: { ...floor.samples, target: side(112) } }] };
  };

  it('prints every target against bare and core, then ours minus each floor in the runs', () => {
    const lines = poolReport([withFloor('a'), withFloor('b')]);
    expect(lines[0]).toMatch(/^2 runs \(a, b\), 8 rounds, 4 processes a target/);
    expect(lines).toContain('| express+submit-once(memory) | +30 (30 to 30) | 1.00x (1.00 to 1.00) | -10 (-10 to -10) | -10 (-10 to -10) |');
    expect(lines.at(-1)).toBe("express+submit-once(memory) minus express+floor(our store), same rounds: added CPU +18 (18 to 18) µs/req; from the two targets' slices alone +18 (18 to 18)");
  });

  it('prints a minus b for each pair asked, and refuses a target the runs lack', () => {
    const lines = poolReport([withFloor('a')], [['express+floor(our store)', 'express+@node-idempotency/core']]);
    expect(lines.at(-1)).toMatch(/^express\+floor\(our store\) minus express\+@node-idempotency\/core, same rounds: added CPU -28 /);
    expect(() => poolReport([withFloor('a')], [['express+submit-once(file)', 'express']])).toThrow(/no such target/);
  });
});
