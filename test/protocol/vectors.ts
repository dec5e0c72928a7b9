/**
 * Shared wire-protocol test vectors: what both ends must agree on. Plain data, no test
 * framework and no import of either end, so the client tests (here) and the server tests
 * (`test/server`) run the very same cases. A `.ts` file rather than JSON because the
 * canonical-JSON cases need values JSON text cannot hold (`-0`, bigint, `toJSON`, `undefined`).
 */

/** A value (as a caller or a body parser holds it) and its canonical JSON text. */
export interface CanonicalJsonVector {
  readonly name: string;
  readonly value: unknown;
  readonly canonical: string;
}

export const canonicalJsonVectors: readonly CanonicalJsonVector[] = [
  { name: 'keys sorted at every depth', value: { b: 1, a: { d: [1, { z: 0, y: 1 }], c: 2 } }, canonical: '{"a":{"c":2,"d":[1,{"y":1,"z":0}]},"b":1}' },
  { name: 'arrays keep their order', value: [3, 1, 2], canonical: '[3,1,2]' },
  { name: 'nested arrays', value: [[1, [2, [3, []]]], [], [[]]], canonical: '[[1,[2,[3,[]]]],[],[[]]]' },
  { name: '-0 is 0', value: { n: -0, list: [-0] }, canonical: '{"list":[0],"n":0}' },
  { name: 'top-level -0', value: -0, canonical: '0' },
  { name: 'non-finite numbers are null', value: [NaN, Infinity, -Infinity], canonical: '[null,null,null]' },
  { name: 'a number beyond 2^53 is the double JSON keeps', value: 12345678901234567890, canonical: '12345678901234567000' },
  { name: 'numbers as JSON.stringify writes them', value: [1e21, 0.1 + 0.2, 1.5e-7, 100], canonical: '[1e+21,0.30000000000000004,1.5e-7,100]' },
  { name: 'a bigint is its exact digits', value: { id: 2n ** 64n, small: -10n }, canonical: '{"id":18446744073709551616,"small":-10}' },
  { name: 'Date through toJSON', value: { at: new Date(0) }, canonical: '{"at":"1970-01-01T00:00:00.000Z"}' },
  {
    name: 'toJSON gets the member name or the index',
    value: { a: { toJSON: (k: string) => `member ${k}` }, list: [{ toJSON: (k: string) => `index ${k}` }] },
    canonical: '{"a":"member a","list":["index 0"]}',
  },
  { name: 'toJSON result is canonicalised too', value: { toJSON: () => ({ b: 1, a: 2 }) }, canonical: '{"a":2,"b":1}' },
  { name: 'undefined, functions and symbols are left out of objects', value: { a: undefined, b: () => 1, c: Symbol('c'), d: 1 }, canonical: '{"d":1}' },
  { name: '...and are null in arrays (holes too)', value: [undefined, () => 1, Symbol('s'), , 4], canonical: '[null,null,null,null,4]' },
  { name: 'top-level undefined is null', value: undefined, canonical: 'null' },
  { name: 'unicode keys sorted by UTF-16 code unit', value: { é: 1, e: 2, Z: 3, '😀': 4, '\uffff': 5 }, canonical: '{"Z":3,"e":2,"é":1,"😀":4,"\uffff":5}' },
  { name: 'a lone surrogate is escaped', value: '\ud800', canonical: '"\\ud800"' },
  { name: 'boxed primitives are unboxed', value: [Object(3), Object('s'), Object(false)], canonical: '[3,"s",false]' },
  { name: 'a Map has no members', value: new Map([[1, 2]]), canonical: '{}' },
  { name: 'a repeated (non-cyclic) object is written twice', value: ((shared) => ({ a: shared, b: shared }))({ x: 1 }), canonical: '{"a":{"x":1},"b":{"x":1}}' },
];

/** A JSON text nested `depth` levels deep, as arrays or as objects. */
export function nestedJson(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** JSON texts at and past `MAX_JSON_DEPTH` (64): deeper must be refused, not overflow a stack. */
export const depthVectors: readonly { name: string; text: string; tooDeep: boolean }[] = [
  { name: '64 nested arrays', text: nestedJson(64), tooDeep: false },
  { name: '65 nested arrays', text: nestedJson(65), tooDeep: true },
  { name: '64 nested objects', text: nestedJson(64, 'object'), tooDeep: false },
  { name: '65 nested objects', text: nestedJson(65, 'object'), tooDeep: true },
  { name: '200 000 nested arrays', text: nestedJson(200_000), tooDeep: true },
];

/** A request as it goes on the wire: the body is its text, `contentType` its header. */
export interface WireRequest {
  readonly method: string;
  readonly url: string;
  readonly body?: string;
  readonly contentType?: string;
}

/**
 * Two requests, and whether both ends must call them the same payload. The client sees
 * `{ method, url, body }` (a form body as `URLSearchParams`); the verifier sees the method,
 * the URL's path and query, and the body's bytes with its `Content-Type`. Run through
 * either, equal must mean equal: client fingerprint equal ⇔ server fingerprint equal.
 */
export interface PayloadVector {
  readonly name: string;
  readonly a: WireRequest;
  readonly b: WireRequest;
  readonly same: boolean;
}

const ORDERS = 'https://shop.test/orders';
const FORM = 'application/x-www-form-urlencoded';
const post = (body: string, url = ORDERS): WireRequest => ({ method: 'POST', url, body, contentType: 'application/json' });
const postForm = (body: string): WireRequest => ({ method: 'POST', url: ORDERS, body, contentType: FORM });

export const payloadVectors: readonly PayloadVector[] = [
  { name: 'JSON member order', a: post('{"sku":"A","qty":1}'), b: post('{"qty":1,"sku":"A"}'), same: true },
  { name: 'JSON whitespace', a: post('{"a":[1,2]}'), b: post(' {\n "a" : [ 1 , 2 ] }\t'), same: true },
  { name: 'JSON array order', a: post('[1,2]'), b: post('[2,1]'), same: false },
  { name: 'member order inside nested arrays', a: post('{"a":[[1,{"y":2,"x":1}]]}'), b: post('{"a":[[1,{"x":1,"y":2}]]}'), same: true },
  { name: 'JSON values differ', a: post('{"qty":1}'), b: post('{"qty":2}'), same: false },
  { name: '-0 and 0', a: post('{"n":-0}'), b: post('{"n":0}'), same: true },
  { name: 'number spellings', a: post('{"n":1.0,"m":1e2}'), b: post('{"n":1,"m":100}'), same: true },
  { name: 'big numbers that parse to one double are two amounts', a: post('{"n":12345678901234567890}'), b: post('{"n":12345678901234567891}'), same: false },
  { name: 'a big number and its member order: compared as text', a: post('{"n":12345678901234567891,"m":1}'), b: post('{"m":1,"n":12345678901234567891}'), same: false },
  { name: 'long digit strings and 15-digit numbers keep the canonical form', a: post('{"s":"12345678901234567890","n":123456789012345,"x":1.5e-10}'), b: post('{"x":15e-11,"n":123456789012345.0,"s":"12345678901234567890"}'), same: true },
  { name: 'big numbers kept as strings', a: post('{"n":"12345678901234567890"}'), b: post('{"n":"12345678901234567891"}'), same: false },
  { name: 'unicode member names', a: post('{"é":1,"e":2}'), b: post('{"e":2,"é":1}'), same: true },
  { name: 'a JSON escape and the character', a: post('{"a":"\\u00e9"}'), b: post('{"a":"é"}'), same: true },
  { name: 'a top-level JSON string', a: post('"abc"'), b: post(' "abc"'), same: true },
  { name: 'text that is not JSON is compared as is', a: post('abc'), b: post('abc '), same: false },
  { name: 'form fields in another order', a: postForm('b=2&a=1'), b: postForm('a=1&b=2'), same: true },
  { name: 'form fields of one name keep their order', a: postForm('a=1&a=2'), b: postForm('a=2&a=1'), same: false },
  { name: 'form encodings of one value', a: postForm('a=%41&b=x%20y'), b: postForm('a=A&b=x+y'), same: true },
  { name: 'query parameters in another order', a: post('{}', `${ORDERS}?b=2&a=1`), b: post('{}', `${ORDERS}?a=1&b=2`), same: true },
  { name: 'query parameters of one name keep their order', a: post('{}', `${ORDERS}?a=1&a=2`), b: post('{}', `${ORDERS}?a=2&a=1`), same: false },
  { name: 'another path', a: post('{}'), b: post('{}', 'https://shop.test/carts'), same: false },
  { name: 'another method', a: post('{}'), b: { ...post('{}'), method: 'PATCH' }, same: false },
];

/** An `Idempotency-Key` header (one value, or each value of a repeated header) and its key, or `null` when malformed. */
export interface KeyHeaderVector {
  readonly name: string;
  readonly header: string | readonly string[];
  readonly key: string | null;
}

const x255 = 'x'.repeat(255);
const uuid = '5f0c1a52-8d6e-4b1f-9a0e-3c2b7d9e4f61';

export const keyHeaderVectors: readonly KeyHeaderVector[] = [
  { name: 'a UUID token', header: uuid, key: uuid },
  { name: 'a token with optional whitespace around it', header: ' abc\t', key: 'abc' },
  { name: 'an sf-string', header: '"abc"', key: 'abc' },
  { name: 'an sf-string with an escaped quote', header: '"a\\"b"', key: 'a"b' },
  { name: 'an sf-string with an escaped backslash', header: '"a\\\\b"', key: 'a\\b' },
  { name: 'a token ending in a quote', header: 'abc"', key: 'abc"' },
  { name: 'a comma inside one token', header: 'a,b', key: 'a,b' },
  { name: '255 characters', header: x255, key: x255 },
  { name: '255 characters quoted', header: `"${x255}"`, key: x255 },
  { name: 'one value of a repeated header', header: ['abc'], key: 'abc' },
  { name: 'an unescaped quote inside an sf-string', header: '"a"b"', key: null },
  { name: 'empty', header: '', key: null },
  { name: 'only whitespace', header: '  ', key: null },
  { name: 'an empty sf-string', header: '""', key: null },
  { name: 'a lone quote', header: '"', key: null },
  { name: 'an unterminated sf-string', header: '"abc', key: null },
  { name: 'an escape swallowing the closing quote', header: '"abc\\"', key: null },
  { name: 'an escape of another character', header: '"a\\b"', key: null },
  { name: '256 characters', header: `${x255}x`, key: null },
  { name: '256 characters quoted', header: `"${x255}x"`, key: null },
  { name: 'a comma list of tokens (repeated headers joined)', header: 'a, b', key: null },
  { name: 'a comma list of sf-strings', header: '"a", "b"', key: null },
  { name: 'two headers', header: ['a', 'b'], key: null },
  { name: 'no header value at all', header: [], key: null },
  { name: 'a space inside', header: 'a b', key: null },
  { name: 'a unicode token', header: 'clé', key: null },
  { name: 'a unicode sf-string', header: '"키"', key: null },
  { name: 'a control character', header: 'a\u0001b', key: null },
];

/** Valid keys and their header value in each format; `parseKey` gives the key back from both. */
export const keyFormatVectors: readonly { readonly key: string; readonly token: string; readonly sfString: string }[] = [
  { key: uuid, token: uuid, sfString: `"${uuid}"` },
  { key: 'a"b', token: 'a"b', sfString: '"a\\"b"' },
  { key: 'a\\b', token: 'a\\b', sfString: '"a\\\\b"' },
  // Bare, these would read as sf-strings and name other keys (`"q"` as `q`): quoted in both formats.
  { key: '"q"', token: '"\\"q\\""', sfString: '"\\"q\\""' },
  { key: '"', token: '"\\""', sfString: '"\\""' },
  { key: '"abc', token: '"\\"abc"', sfString: '"\\"abc"' },
  { key: '!~', token: '!~', sfString: '"!~"' },
  { key: x255, token: x255, sfString: `"${x255}"` },
];
