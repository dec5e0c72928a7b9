/**
 * JSON with a member name twice: `JSON.parse` keeps the last, so `{"amount":1,"amount":100}`
 * and `{"amount":100}` have one canonical JSON, while an upstream or a handler reading
 * `req.rawBody` whose parser keeps the first (or refuses the body) sees two intents. The
 * verifier compares such a text as it came instead.
 */
import { MAX_JSON_DEPTH } from '../protocol/index.js';

/**
 * True when the JSON text names a member twice in one object. Each name in the text is
 * followed by the one colon outside strings, and each member of `parsed` (the text's
 * parse) came from a name: a repeat leaves more colons outside strings than members.
 * Most bodies are answered by the colons of the text against the members (none of their
 * strings holds a colon). Else, in a text where no escape can spell a colon (`\u003a`),
 * the colons inside its strings are those of the parse's strings (plus any in a repeat's
 * dropped value, which only adds to a repeat's count); a text with one is scanned.
 */
export function repeatsNames(text: string, parsed: unknown): boolean {
  const colons = colonsIn(text);
  if (colons === 0) return false;
  const tally = { members: 0, colons: 0, strings: false };
  // Deeper than MAX_JSON_DEPTH: the body is refused as too deep, whatever its names.
  if (!walk(parsed, tally, 0) || tally.members >= colons) return false;
  if (text.indexOf('\\u003') !== -1) return colonsOutsideStrings(text) > tally.members;
  tally.strings = true;
  tally.members = 0;
  walk(parsed, tally, 0);
  return colons - tally.colons > tally.members;
}

/**
 * Adds the members of a parsed value and, with `strings`, the colons of its strings (names
 * included); false when it nests too deep.
 */
function walk(value: unknown, tally: { members: number; colons: number; strings: boolean }, depth: number): boolean {
  if (typeof value === 'string') {
    if (tally.strings) tally.colons += colonsIn(value);
    return true;
  }
  if (typeof value !== 'object' || value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!walk(value[i], tally, depth + 1)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  for (const name in record) {
    tally.members++;
    if (tally.strings) tally.colons += colonsIn(name);
    if (!walk(record[name], tally, depth + 1)) return false;
  }
  return true;
}

function colonsIn(text: string): number {
  let count = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) count++;
  return count;
}

/** The colons of a valid JSON text outside its strings (a string ends at a `"` after an even run of `\`). */
function colonsOutsideStrings(text: string): number {
  let count = 0;
  let from = 0;
  for (;;) {
    const quote = text.indexOf('"', from);
    const end = quote === -1 ? text.length : quote;
    for (let i = text.indexOf(':', from); i !== -1 && i < end; i = text.indexOf(':', i + 1)) count++;
    if (quote === -1) return count;
    let close = quote;
    for (;;) {
      close = text.indexOf('"', close + 1);
      let slash = close - 1;
      while (text.charCodeAt(slash) === 0x5c) slash--;
      if ((close - 1 - slash) % 2 === 0) break;
    }
    from = close + 1;
  }
}
