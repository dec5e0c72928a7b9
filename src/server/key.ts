/** Longest key accepted, per the IETF Idempotency-Key draft's advice and Stripe's limit. */
export const MAX_KEY_LENGTH = 255;

export type KeyParseResult =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly reason: string };

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Parses an `Idempotency-Key` header value: a bare token (`abc`, as Stripe sends) or a
 * structured-field string (`"abc"`, as the IETF draft writes it). Both give the same key.
 */
export function parseIdempotencyKey(raw: string): KeyParseResult {
  // Node joins repeated headers with ", ", which then fails the visible-ASCII rule below:
  // two keys on one request are ambiguous, so they are rejected rather than picking one.
  const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
  const key = value.startsWith('"') ? unquote(value) : value;
  if (key === undefined) return { ok: false, reason: 'a quoted key must be one valid structured-field string' };
  if (key.length === 0) return { ok: false, reason: 'the key is empty' };
  if (key.length > MAX_KEY_LENGTH) return { ok: false, reason: `the key is longer than ${MAX_KEY_LENGTH} characters` };
  if (!VISIBLE_ASCII.test(key)) return { ok: false, reason: 'the key must be visible ASCII characters only' };
  return { ok: true, key };
}

/** RFC 8941 sf-string: `"` ... `"`, with `\"` and `\\` the only escapes. */
function unquote(value: string): string | undefined {
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  let out = '';
  for (let i = 1; i < value.length - 1; i++) {
    const ch = value[i] as string;
    if (ch === '\\') {
      const next = value[i + 1];
      if (next !== '"' && next !== '\\') return undefined;
      // An escape right before the closing quote would swallow it.
      if (i + 1 === value.length - 1) return undefined;
      out += next;
      i++;
    } else if (ch === '"') {
      return undefined;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * The key header's value, or `many` when the request carries it on more than one line:
 * Node would join them with ", " (and `a` plus an empty line into `a,`), so the lines are
 * counted from `headersDistinct` instead, and two keys are rejected rather than one picked.
 */
export function keyHeaderOf(req: { headersDistinct: Record<string, string[] | undefined> }, headerLower: string): string | 'many' | undefined {
  const lines = req.headersDistinct[headerLower];
  if (lines === undefined || lines.length === 0) return undefined;
  if (lines.length > 1) return 'many';
  return lines[0];
}
