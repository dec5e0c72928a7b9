/**
 * The canonical JSON of a body a parser made (Express's `express.json()`, or the
 * middleware's own parse): `canonicalJson`'s text, by the native serialiser when that
 * already writes it. Here and not in `src/protocol`, so the browser bundle does not carry it.
 */
import { canonicalJson, MAX_JSON_DEPTH } from '../protocol/index.js';

/**
 * A body already canonical once serialised (its names in order at every level: a client
 * that sorts them, objects of one name) is written by `JSON.stringify`, and only the walk
 * that proves it is ours; an unsorted one costs the walk up to its first name out of order
 * (issue 11: canonicalising JSON that is already canonical).
 *
 * @throws PayloadTooDeepError as `canonicalJson` does.
 */
export function canonicalBodyJson(value: unknown): string {
  return serialisesCanonically(value, 0) ? JSON.stringify(value) : canonicalJson(value);
}

/**
 * True when `JSON.stringify(value)` is already the canonical text: strings, numbers,
 * booleans and null, in arrays and objects without `toJSON` whose names come in canonical
 * order, no deeper than `MAX_JSON_DEPTH`. Anything else (an unsorted object, `undefined`,
 * a `Date`, a bigint, a hole) is left to `canonicalJson`, which also refuses what is too
 * deep. (Boxed primitives, which the serialiser unboxes, `canonicalJson` unboxes too.)
 */
function serialisesCanonically(value: unknown, depth: number): boolean {
  if (typeof value !== 'object') return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  if (value === null) return true;
  if (depth >= MAX_JSON_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!serialisesCanonically(value[i], depth + 1)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if ((i > 0 && names[i - 1]! >= name) || !serialisesCanonically(record[name], depth + 1)) return false;
  }
  return true;
}
