/**
 * JSON numbers a double cannot hold: `9007199254740993` parses as `…992`, `1e400` as
 * Infinity (written `null`), `0.10000000000000001` as `0.1`. Canonical JSON is made from
 * the parsed value, so it would make two such amounts one payload, while an upstream with
 * a decimal or bigint parser (or a handler reading the raw bytes) sees two intents: a
 * JSON text holding one is compared as text instead (`canonicalBodyText`). Every other
 * text keeps its canonical form.
 */

/** JSON strings (skipped: their digits are text) and number lexemes, in a valid JSON text. */
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * True when the JSON text holds a number whose value `JSON.parse` does not keep exactly.
 * A lexeme can lose digits only with 16 or more significant digits or an exponent of
 * three digits (a double holds any 15, and 1e±99 is in its normal range): most bodies
 * are answered by the first test.
 */
export function losesDigits(json: string): boolean {
  if (!/\d[\d.]{15}|[eE][+-]?\d{3}/.test(json)) return false;
  for (const [token] of json.matchAll(TOKENS)) if (token[0] !== '"' && exactValue(token) !== exactValue(String(Number(token)))) return true;
  return false;
}

/** A decimal's value as `digits e exponent` without leading or trailing zeros (`''` for zero); undefined for `Infinity`. */
function exactValue(lexeme: string): string | undefined {
  const parts = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(lexeme);
  if (parts === null) return undefined;
  const fraction = parts[3] ?? '';
  const significant = (parts[2]! + fraction).replace(/^0+/, '');
  const digits = significant.replace(/0+$/, '');
  return digits && `${parts[1]}${digits}e${Number(parts[4] ?? 0) - fraction.length + significant.length - digits.length}`;
}
