import type { ServerResponse } from 'node:http';

/**
 * Thrown (or rejected) by a handler that cannot tell whether its effect happened, e.g. a
 * downstream call that failed after the request was delivered. The middleware then marks
 * the key `unknown` (fenced by the run's token) instead of releasing it, and answers 500
 * `outcome-unknown`: a retry must not run the effect a second time unawares.
 *
 * @example throw new UncertainOutcomeError('payment provider hung up after the charge request', { cause });
 */
export class UncertainOutcomeError extends Error {
  override readonly name = 'UncertainOutcomeError';
  readonly code = 'outcome-unknown';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for an `UncertainOutcomeError`, also one from another copy of this package. */
export function isUncertainOutcomeError(error: unknown): error is UncertainOutcomeError {
  return error instanceof Error && (error as { code?: unknown }).code === 'outcome-unknown';
}

/** Answers that go out as they are but leave their run's key unknown (`answerLeavesOutcomeUnknown`). */
const unknownAfterAnswer = new WeakSet<ServerResponse>();

/**
 * For a handler whose answer says the effect may have happened though it is no success
 * (a proxy passing on a gateway's 502 or 504): the answer goes out as it is, and the key
 * turns unknown instead of being released or stored. Internal: not exported by the package.
 */
export function answerLeavesOutcomeUnknown(res: ServerResponse): void {
  unknownAfterAnswer.add(res);
}

export function leavesOutcomeUnknown(res: ServerResponse): boolean {
  return unknownAfterAnswer.has(res);
}
