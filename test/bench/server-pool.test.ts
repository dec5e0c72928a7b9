import { describe, expect, it } from 'vitest';
import { pooledPairs, type RunSamples } from '../../bench/server/pool.js';
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
