/**
 * An option of the middleware or a store has a value it cannot use; thrown when it is
 * made. A `RangeError`, as these were before, with the client's `name`, `code` and
 * `option`: `isSubmitOnceError(error, 'invalid-options')` from `submit-once` knows it too.
 */
export class InvalidOptionsError extends RangeError {
  override readonly name = 'InvalidOptionsError';
  readonly code = 'invalid-options';

  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`submit-once: invalid option "${option}": ${detail}`);
  }
}

/** True for an `InvalidOptionsError`, also from another copy of this module (where `instanceof` fails). */
export function isInvalidOptionsError(error: unknown): error is InvalidOptionsError {
  return error instanceof Error && error.name === 'InvalidOptionsError' && (error as { code?: unknown }).code === 'invalid-options';
}

/** The longest delay a timer keeps: Node fires a longer one after 1 ms (with only a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2_147_483_647;

/** `value` if it is a number above `min` (or equal, with `orEqual`) and at most `max`. */
export function checkNumber(name: string, value: number, min: number, orEqual: boolean, max = Infinity): number {
  if (typeof value !== 'number' || !(orEqual ? value >= min : value > min) || !(value <= max)) {
    throw new InvalidOptionsError(name, `expected a number ${orEqual ? '>=' : '>'} ${min}${max === Infinity ? '' : ` and <= ${max}`}, got ${String(value)}`);
  }
  return value;
}

/** `value` if it is a finite number above 0. */
export function positive(name: string, value: number): number {
  return checkNumber(name, value, 0, false, Number.MAX_VALUE);
}

/** `value` if it is a whole number of at least `min`. */
export function wholeAtLeast(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new InvalidOptionsError(name, `expected a whole number of at least ${min}, got ${String(value)}`);
  return value;
}
