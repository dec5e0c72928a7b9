/**
 * The idempotency key grammar, with its one parser and one formatter. The verifier's
 * strict rules are the rules: a key is 1 to 255 visible ASCII characters; a header value
 * is either that key bare (a token, as Stripe sends it) or an RFC 8941 structured-field
 * string `"…"` whose only escapes are `\"` and `\\` (as the IETF draft writes it).
 * Anything else (`"a"b"`, a comma list, two headers, an empty value) is malformed: a
 * guess at which key was meant could make two requests share one key, or one intent two.
 */

/** Longest key accepted, per the IETF draft's advice and Stripe's limit. */
export const MAX_KEY_LENGTH = 255;

/** `token`: the bare key (default, Stripe); `sf-string`: the draft's quoted string. */
export type KeyFormat = 'token' | 'sf-string';

/** The key, or a short reason it is malformed (for a 400's detail). */
export type KeyParseResult =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly reason: string };

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const QUOTE = 0x22;

/**
 * RFC 8941 sf-string: `"`, then printable ASCII other than `"` and `\`, or those two
 * escaped (`\"`, `\\`, the only escapes), then `"`. So `"a"b"` and `"abc\"` are not one.
 */
const SF_STRING = /^"((?:[ !#-[\]-~]|\\["\\])*)"$/;

/** True for 1 to 255 visible ASCII characters. */
export function isValidKey(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_KEY_LENGTH && VISIBLE_ASCII.test(value);
}

/**
 * Reads a header value (or every value of a repeated header) back into the key.
 *
 * @example
 * parseKey('"a\\"b"') // { ok: true, key: 'a"b' }
 * parseKey('"a"b"')   // { ok: false, reason: … }
 */
export function parseKey(header: string | readonly string[]): KeyParseResult {
  // Two keys on one request are ambiguous: refused rather than picking one.
  if (typeof header !== 'string') return header.length === 1 ? parseKey(header[0]!) : { ok: false, reason: 'two keys' };
  // The common bare token: no whitespace to trim (not visible ASCII) and no quote to read,
  // so the value is the key; the rules below would give the same, at three regex passes.
  if (header.length <= MAX_KEY_LENGTH && header.charCodeAt(0) !== QUOTE && VISIBLE_ASCII.test(header)) return { ok: true, key: header };
  // Only optional whitespace (SP, HTAB) around a field value is dropped, as HTTP does.
  const value = header.replace(/^[ \t]+|[ \t]+$/g, '');
  const quoted = SF_STRING.exec(value);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : value.startsWith('"') ? undefined : value;
  // A comma list joined from repeated headers ("a, b") fails the visible-ASCII rule, on its space.
  const reason =
    key === undefined
      ? 'bad sf-string'
      : key === ''
        ? 'empty'
        : key.length > MAX_KEY_LENGTH
          ? 'too long'
          : VISIBLE_ASCII.test(key)
            ? undefined
            : 'not visible ASCII';
  return reason === undefined ? { ok: true, key: key! } : { ok: false, reason };
}

/**
 * The header value for a valid key (check it with `isValidKey` first). A key that begins
 * with `"` is written as a structured-field string even in `token` format: bare, the
 * verifier would read it as a quoted string and see another key (`"q"` as `q`), so the
 * quoted form is the only one that `parseKey` gives back unchanged.
 *
 * @example
 * formatKey('abc')              // 'abc'
 * formatKey('abc', 'sf-string') // '"abc"'
 * formatKey('"q"')              // '"\\"q\\""'
 */
export function formatKey(key: string, format: KeyFormat = 'token'): string {
  if (format === 'token' && !key.startsWith('"')) return key;
  return `"${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
