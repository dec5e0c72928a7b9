/**
 * Canonical JSON: the one text both ends hash, so that two serialisations of one payload
 * (another key order, other whitespace, `1.0` for `1`) are one payload. Works on a value
 * (the client's body, or a body the server has already parsed); see `canonicalBodyText`
 * for raw body text.
 *
 * Rules, each what `JSON.stringify` does unless said otherwise:
 * - object members sorted by name (UTF-16 code units, as `Array.prototype.sort`), members
 *   whose value is `undefined`, a function or a symbol left out;
 * - arrays in order, those values (and holes) written `null`;
 * - `toJSON(key)` honoured (a `Date` is its ISO string), boxed primitives unboxed;
 * - numbers as `JSON.stringify` writes them, so `-0` is `0` and `NaN`/`±Infinity` are `null`;
 * - a bigint (not JSON at all for `JSON.stringify`) is its exact decimal digits, written
 *   as a number: what a bigint-aware serialiser puts on the wire;
 * - deeper than `MAX_JSON_DEPTH` nested objects/arrays: `PayloadTooDeepError`. A cycle
 *   is infinitely deep, so it is refused the same way (after 64 steps, not a hang).
 *
 * Recursive, but never deeper than `MAX_JSON_DEPTH` calls (a deeper body is refused), so
 * a hostile body cannot overflow the call stack of the server that canonicalises it; a
 * string built call by call, with no queue of pending pieces, because the server
 * canonicalises every body it guards.
 */
import { PayloadTooDeepError } from './payload-too-deep-error.js';

/** The deepest nesting of objects and arrays accepted; the server answers deeper with `body-too-deep`. */
export const MAX_JSON_DEPTH = 64;

/**
 * @example
 * canonicalJson({ b: [1, -0], a: new Date(0) }) // '{"a":"1970-01-01T00:00:00.000Z","b":[1,0]}'
 */
export function canonicalJson(value: unknown): string {
  return write(toJsonValue(value, ''), 0);
}

/** The canonical text of a value already through `toJsonValue`, at a nesting depth. */
function write(value: unknown, depth: number): string {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'string') return jsonString(value);
    // JSON.stringify writes -0 as 0, non-finite numbers as null, and has no text (undefined)
    // for undefined, functions and symbols: those stand as null where a value must be.
    return typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? 'null');
  }
  if (depth >= MAX_JSON_DEPTH) throw new PayloadTooDeepError(MAX_JSON_DEPTH);
  if (Array.isArray(value)) {
    let out = '[';
    // Holes read as undefined, written null like any value without text.
    for (let i = 0; i < value.length; i++) out += `${i > 0 ? ',' : ''}${write(toJsonValue(value[i], String(i)), depth + 1)}`;
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const names = sortNames(Object.keys(record));
  let out = '{';
  for (const name of names) {
    const item = toJsonValue(record[name], name);
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    out += `${out.length > 1 ? ',' : ''}${jsonString(name)}:${write(item, depth + 1)}`;
  }
  return `${out}}`;
}

/**
 * Member names in `Array.prototype.sort` order (UTF-16 code units; names are unique, so
 * stability does not matter). A body's few names are sorted in place by insertion: the
 * built-in sort sets up state worth ~0.9 KB of garbage per call, for every guarded request.
 */
function sortNames(names: string[]): string[] {
  if (names.length > 16) return names.sort();
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    for (; j >= 0 && names[j]! > name; j--) names[j + 1] = names[j]!;
    names[j + 1] = name;
  }
  return names;
}

/**
 * `JSON.stringify(text)`, without a call into the serialiser for the common text that
 * needs no escape (no quote, backslash, control character or surrogate): the verifier
 * writes every member name and string of every body it guards.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The value JSON writes for `value` under `key`: through `toJSON(key)`, boxed primitives unboxed. */
function toJsonValue(value: unknown, key: string): unknown {
  // As in JSON.stringify, a string, number or boolean is never asked for `toJSON`: most
  // of a body's values are those, and each lookup walked their prototype.
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key);
  return value instanceof Number || value instanceof String || value instanceof Boolean ? value.valueOf() : value;
}
