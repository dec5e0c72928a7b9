/**
 * The servers the benchmark compares; `node` and `express` are the bare baselines.
 * `express+noop` is the control: a middleware that only calls `next()`, the floor any
 * Express middleware pays (about a microsecond), so a sound method measures it at ~0 added.
 */
export const TARGETS = [
  'node',
  'node+submit-once',
  'express',
  'express+noop',
  'express+submit-once(memory)',
  'express+submit-once(file)',
  'express+submit-once(redis)',
  'express+express-idempotency',
  'express+@node-idempotency/core',
] as const;

export type TargetName = (typeof TARGETS)[number];
