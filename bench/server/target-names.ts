/**
 * The servers the benchmark compares; `node` and `express` are the bare baselines.
 * `express+noop` is the control: a middleware that only calls `next()`, the floor any
 * Express middleware pays, so a sound method measures it small (+5 to +7 µs in session
 * 30's six 32-round runs of 8 processes).
 * `node+keep`, run only when asked for (`--only`): the bare handler plus one Map entry per
 * key holding a fresh 300-character string, about what the memory store keeps of a key;
 * the floor for any store that keeps its keys in the server's own heap. The four
 * `express+floor` targets, also on demand: yardsticks doing only the steps issue 11 lists,
 * each keeping answers another way (`floor.ts`).
 */
export const TARGETS = [
  'node',
  'node+submit-once',
  'node+keep',
  'express',
  'express+noop',
  'express+floor',
  'express+floor(one string)',
  'express+floor(forgets)',
  'express+floor(our store)',
  'express+submit-once(memory)',
  'express+submit-once(file)',
  'express+submit-once(redis)',
  'express+express-idempotency',
  'express+@node-idempotency/core',
] as const;

export type TargetName = (typeof TARGETS)[number];

/** Targets left out of a full run (they answer a question, not a target of the issue). */
export const ON_DEMAND: readonly TargetName[] = ['node+keep', 'express+floor', 'express+floor(one string)', 'express+floor(forgets)', 'express+floor(our store)'];

/** Issue 11's peer: every Express target's added cost is compared with its own. */
export const PEER: TargetName = 'express+@node-idempotency/core';
