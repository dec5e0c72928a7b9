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
 * Written without recursion (an explicit stack), so a hostile body cannot overflow the
 * call stack of the server that canonicalises it.
 */
import { PayloadTooDeepError } from './payload-too-deep-error.js';

/** The deepest nesting of objects and arrays accepted; the server answers deeper with `body-too-deep`. */
export const MAX_JSON_DEPTH = 64;

/** Text to write as it is, or a value (already through `toJSON`) at a nesting depth. */
type Task = string | { readonly value: unknown; readonly depth: number };

/**
 * @example
 * canonicalJson({ b: [1, -0], a: new Date(0) }) // '{"a":"1970-01-01T00:00:00.000Z","b":[1,0]}'
 */
export function canonicalJson(value: unknown): string {
  let out = '';
  const stack: Task[] = [{ value: toJsonValue(value, ''), depth: 0 }];
  for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
    if (typeof task === 'string') {
      out += task;
      continue;
    }
    const current = task.value;
    if (typeof current !== 'object' || current === null) {
      // JSON.stringify writes -0 as 0, non-finite numbers as null, and has no text (undefined)
      // for undefined, functions and symbols: those stand as null where a value must be.
      out += typeof current === 'bigint' ? current.toString() : (JSON.stringify(current) ?? 'null');
      continue;
    }
    if (task.depth >= MAX_JSON_DEPTH) throw new PayloadTooDeepError(MAX_JSON_DEPTH);
    const isArray = Array.isArray(current);
    const record = current as Record<string, unknown>;
    const names = isArray ? Object.keys([...(current as unknown[])]) : Object.keys(record).sort();
    const tasks: Task[] = [isArray ? '[' : '{'];
    for (const name of names) {
      const item = toJsonValue(record[name], name);
      if (!isArray && (item === undefined || typeof item === 'function' || typeof item === 'symbol')) continue;
      tasks.push(`${tasks.length > 1 ? ',' : ''}${isArray ? '' : `${JSON.stringify(name)}:`}`, { value: item, depth: task.depth + 1 });
    }
    tasks.push(isArray ? ']' : '}');
    // Pushed last-first, so they pop in document order.
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
  }
  return out;
}

/** The value JSON writes for `value` under `key`: through `toJSON(key)`, boxed primitives unboxed. */
function toJsonValue(value: unknown, key: string): unknown {
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key);
  return value instanceof Number || value instanceof String || value instanceof Boolean ? value.valueOf() : value;
}
