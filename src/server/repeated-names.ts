/**
 * JSON with a member name twice: `JSON.parse` keeps the last, so `{"amount":1,"amount":100}`
 * and `{"amount":100}` have one canonical JSON, while an upstream or a handler reading
 * `req.rawBody` whose parser keeps the first (or refuses the body) sees two intents. The
 * verifier compares such a text as it came instead.
 */
import { MAX_JSON_DEPTH } from '../protocol/index.js';

/** Strings followed by `:` in a valid JSON text: its member names. */
const NAME = /"(?:[^"\\]|\\.)*"\s*:/g;

/**
 * True when the JSON text names a member twice in one object. Every member of `parsed`
 * (the text's parse) came from a name, and every name is followed by a colon: with no more
 * colons than members (none inside strings) no name can repeat, which is one count and a
 * walk for most bodies; else the names are counted.
 */
export function repeatsNames(text: string, parsed: unknown): boolean {
  let colons = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) colons++;
  if (colons === 0) return false;
  const members = countMembers(parsed, colons, 0);
  if (members >= colons) return false;
  let names = 0;
  for (const _ of text.matchAll(NAME)) if (++names > members) return true;
  return false;
}

/**
 * The members of a parsed value, counted up to `limit` (enough to rule a repeat out).
 * Deeper than `MAX_JSON_DEPTH`: Infinity (no scan of names), such a body is refused as too deep.
 */
function countMembers(value: unknown, limit: number, depth: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (depth >= MAX_JSON_DEPTH) return Infinity;
  const items: unknown[] = Array.isArray(value) ? value : Object.values(value);
  let count = Array.isArray(value) ? 0 : items.length;
  for (let i = 0; i < items.length && count < limit; i++) count += countMembers(items[i], limit - count, depth + 1);
  return count;
}
