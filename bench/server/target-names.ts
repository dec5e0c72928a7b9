/** The servers the benchmark compares; `node` and `express` are the bare baselines. */
export const TARGETS = [
  'node',
  'node+submit-once',
  'express',
  'express+submit-once(memory)',
  'express+submit-once(file)',
  'express+submit-once(redis)',
  'express+express-idempotency',
  'express+@node-idempotency/core',
] as const;

export type TargetName = (typeof TARGETS)[number];
