/**
 * The answers `checkIfMatch` refused with (412, 428), known by their response: a refusal
 * made before the update ran, so the middleware releases its key rather than store it.
 */
const refusals = new WeakSet<object>();

export function markPreconditionRefusal(res: object): void {
  refusals.add(res);
}

export function isPreconditionRefusal(res: object): boolean {
  return refusals.has(res);
}
