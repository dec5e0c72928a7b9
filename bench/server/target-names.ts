/**
 * The servers the benchmark compares; `node` and `express` are the bare baselines.
 * `express+noop` is the control: a middleware that only calls `next()`, the floor any
 * Express middleware pays, so a sound method measures it small (+5 to +7 µs, intervals
 * from about 0 to 11-16, in session 30's 32-round runs of 8 processes).
 * `node+keep`, run only when asked for (`--only`): the bare handler plus one Map entry per
 * key holding a fresh 300-character string, about what the memory store keeps of a key;
 * the floor for any store that keeps its keys in the server's own heap. `express+floor`,
 * also on demand: the work issue 11 says the job needs, each step the plainest way
 * (`floor.ts`), keeping answers as heap objects; `express+floor(one string)` keeping one
 * string a key; `express+floor(forgets)` dropping each answer once sent, about the least a
 * middleware doing those steps behind Express can cost, whatever its store.
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
  'express+submit-once(memory)',
  'express+submit-once(file)',
  'express+submit-once(redis)',
  'express+express-idempotency',
  'express+@node-idempotency/core',
] as const;

export type TargetName = (typeof TARGETS)[number];

/** Targets left out of a full run (they answer a question, not a target of the issue). */
export const ON_DEMAND: readonly TargetName[] = ['node+keep', 'express+floor', 'express+floor(one string)', 'express+floor(forgets)'];
