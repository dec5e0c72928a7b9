import { describe, expect, it } from 'vitest';
import {
  canonicalBodyText,
  canonicalForm,
  canonicalJson,
  formatKey,
  isFormContentType,
  isPayloadTooDeepError,
  isValidKey,
  MAX_JSON_DEPTH,
  parseKey,
  PayloadTooDeepError,
  PROBLEM_STATUS,
  PROBLEM_TITLE,
  problemCodeOf,
  problemType,
} from '../../src/protocol/index.js';
import { canonicalJsonVectors, depthVectors, keyFormatVectors, keyHeaderVectors, nestedJson, payloadVectors, type WireRequest } from './vectors.js';

describe('canonicalJson', () => {
  for (const vector of canonicalJsonVectors) {
    it(vector.name, () => {
      expect(canonicalJson(vector.value)).toBe(vector.canonical);
    });
  }

  it('agrees with JSON.stringify wherever that sorts nothing and meets no bigint', () => {
    const values = [null, true, 'text', 0, -0, 1e-7, [1, 'a', null, [2]], [new Date(1), NaN], { only: [{ one: 1 }] }];
    for (const value of values) expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });

  it('asks a string, number or boolean for no toJSON, a function for its own, as JSON.stringify does', () => {
    const prototypes = [String.prototype, Number.prototype, Boolean.prototype] as { toJSON?: unknown }[];
    for (const prototype of prototypes) prototype.toJSON = () => 'patched';
    try {
      const value = { b: true, f: Object.assign(() => 0, { toJSON: () => 'own' }), list: ['a', 2, false], n: 1, s: 'text' };
      expect(canonicalJson(value)).toBe(JSON.stringify(value));
      expect(canonicalJson('text')).toBe('"text"');
    } finally {
      for (const prototype of prototypes) delete prototype.toJSON;
    }
  });

  for (const vector of depthVectors) {
    it(`${vector.name}: ${vector.tooDeep ? 'refused' : 'accepted'}`, () => {
      const value: unknown = JSON.parse(vector.text);
      if (vector.tooDeep) {
        expect(() => canonicalJson(value)).toThrow(PayloadTooDeepError);
        expect(() => canonicalBodyText(vector.text)).toThrow(PayloadTooDeepError);
      } else {
        expect(canonicalJson(value)).toBe(vector.text);
      }
    });
  }

  it('refuses at MAX_JSON_DEPTH + 1 with a typed, recognisable error', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    const error = (() => {
      try {
        canonicalJson(JSON.parse(nestedJson(MAX_JSON_DEPTH + 1)));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isPayloadTooDeepError(error)).toBe(true);
    expect(error).toMatchObject({ name: 'PayloadTooDeepError', code: 'body-too-deep', message: 'nested deeper than 64 levels' });
    expect(isPayloadTooDeepError(new Error('body-too-deep'))).toBe(false);
  });

  it('refuses a cycle as too deep, at once instead of hanging', () => {
    const cyclic: Record<string, unknown> = { a: [] };
    (cyclic.a as unknown[]).push(cyclic);
    expect(() => canonicalJson(cyclic)).toThrow(PayloadTooDeepError);
  });

  // As RFC 8785 (JCS) does, and as the server's JSON parser reads them: documented in the
  // README, which tells callers to send ids past 2^53 as strings.
  it('canonicalBodyText: numbers a double holds are their value (1.0 is 1); one it cannot hold keeps the text as it is', () => {
    expect(canonicalBodyText('{"n":1.0,"e":1e2}')).toBe('json:{"e":100,"n":1}');
    expect(canonicalBodyText('{"n":123456789012345.0,"e":1.5e-99,"s":"12345678901234567890"}')).toBe('json:{"e":1.5e-99,"n":123456789012345,"s":"12345678901234567890"}');
    // Integers differing only past 2^53, decimals past 17 digits, overflow and underflow: one double each, two amounts.
    expect(canonicalBodyText('{"id":9007199254740993}')).toBe('text:{"id":9007199254740993}');
    for (const [a, b] of [['9007199254740993', '9007199254740992'], ['0.10000000000000001', '0.1'], ['1e400', 'null'], ['-1e400', 'null'], ['1e-400', '0']]) {
      expect(canonicalBodyText(`[${a}]`), a).not.toBe(canonicalBodyText(`[${b}]`));
    }
    // A double's exact value in other spellings is still that value.
    expect(canonicalBodyText('[9007199254740992.000,9.007199254740992e15,1E-7,-0.0]')).toBe('json:[9007199254740992,9007199254740992,1e-7,0]');
    expect(canonicalBodyText('{"id":"9007199254740993"}')).not.toBe(canonicalBodyText('{"id":"9007199254740992"}'));
  });

  it('canonicalBodyText: JSON objects, arrays and strings only; anything else is text as it is', () => {
    expect(canonicalBodyText(' {"b":1,"a":2} ')).toBe('json:{"a":2,"b":1}');
    expect(canonicalBodyText('"x"')).toBe('json:"x"');
    for (const text of ['1', 'true', 'null', 'a=1', '{broken', '']) expect(canonicalBodyText(text)).toBe(`text:${text}`);
  });
});

describe('canonicalForm', () => {
  it('sorts fields by name and keeps the order of equal names', () => {
    expect(canonicalForm('b=2&a=1&a=0&c=3&a=5')).toBe('a=1&a=0&a=5&b=2&c=3');
    expect(canonicalForm(new URLSearchParams('?z=1&y=2'))).toBe('y=2&z=1');
  });

  it('writes every field one way', () => {
    expect(canonicalForm('a=%41&b=x%20y&c=x+y')).toBe('a=A&b=x+y&c=x+y');
    expect(canonicalForm('')).toBe('');
  });

  it('recognises the form content type', () => {
    expect(isFormContentType('application/x-www-form-urlencoded; charset=UTF-8')).toBe(true);
    expect(isFormContentType('application/json')).toBe(false);
    expect(isFormContentType(undefined)).toBe(false);
  });
});

describe('payload vectors through the protocol alone (what the verifier will hash)', () => {
  /** Method, path, canonical query and canonical body: the verifier's payload, before hashing. */
  const payload = (request: WireRequest) => {
    const url = new URL(request.url);
    return [request.method, url.pathname, canonicalForm(url.search), canonicalBodyText(request.body ?? '', isFormContentType(request.contentType))].join('\n');
  };
  for (const vector of payloadVectors) {
    it(`${vector.name}: ${vector.same ? 'one payload' : 'two payloads'}`, () => {
      expect(payload(vector.a) === payload(vector.b)).toBe(vector.same);
    });
  }

  it('canonicalBodyText: forms when told, JSON objects/arrays/strings, other text as it is', () => {
    expect(canonicalBodyText('b=2&a=1', true)).toBe('form:a=1&b=2');
    expect(canonicalBodyText('b=2&a=1')).toBe('text:b=2&a=1');
    expect(canonicalBodyText(' {"b":1,"a":[2]}')).toBe('json:{"a":[2],"b":1}');
    expect(canonicalBodyText('42')).toBe('text:42');
    expect(() => canonicalBodyText(nestedJson(65))).toThrow(PayloadTooDeepError);
  });
});

describe('key grammar', () => {
  for (const vector of keyHeaderVectors) {
    it(`${vector.name}: ${vector.key === null ? 'malformed' : 'valid'}`, () => {
      const parsed = parseKey(vector.header);
      if (vector.key === null) {
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(parsed.reason).toMatch(/\w/);
      } else {
        expect(parsed).toEqual({ ok: true, key: vector.key });
        expect(isValidKey(vector.key)).toBe(true);
      }
    });
  }

  for (const vector of keyFormatVectors) {
    it(`formats ${JSON.stringify(vector.key.slice(0, 12))} in both formats, and reads each back`, () => {
      expect(formatKey(vector.key, 'token')).toBe(vector.token);
      expect(formatKey(vector.key, 'sf-string')).toBe(vector.sfString);
      expect(parseKey(vector.token)).toEqual({ ok: true, key: vector.key });
      expect(parseKey(vector.sfString)).toEqual({ ok: true, key: vector.key });
    });
  }

  it('parseKey(formatKey(k, format)) is k for random valid keys, in both formats', () => {
    // A seeded generator: a failure names a key that can be reproduced.
    let seed = 42;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 2000; i++) {
      const length = 1 + (next() % 255);
      let key = '';
      // Quotes and backslashes often, and sometimes first: the characters that need care.
      for (let j = 0; j < length; j++) key += next() % 5 === 0 ? '"\\'[next() % 2] : String.fromCharCode(0x21 + (next() % 94));
      expect(isValidKey(key)).toBe(true);
      for (const format of ['token', 'sf-string'] as const) expect(parseKey(formatKey(key, format))).toEqual({ ok: true, key });
    }
  });

  it('isValidKey: 1 to 255 visible ASCII', () => {
    for (const bad of ['', 'x'.repeat(256), 'has space', 'new\nline', 'é', 42, undefined]) expect(isValidKey(bad)).toBe(false);
  });
});

describe('problems', () => {
  it('names each problem by a type URI under one base, with its status', () => {
    expect(problemType('key-reused')).toBe('https://submit-once.dev/problems/key-reused');
    expect(PROBLEM_STATUS['key-reused']).toBe(422);
    expect(PROBLEM_STATUS['outcome-unknown']).toBe(500);
    expect(PROBLEM_STATUS['body-too-deep']).toBe(400);
    expect(Object.keys(PROBLEM_TITLE).sort()).toEqual(Object.keys(PROBLEM_STATUS).sort());
  });

  it('problemCodeOf reads our type URIs back and nothing else', () => {
    for (const code of Object.keys(PROBLEM_STATUS) as (keyof typeof PROBLEM_STATUS)[]) expect(problemCodeOf(problemType(code))).toBe(code);
    for (const other of ['https://example.com/problems/key-reused', 'key-reused', 'https://submit-once.dev/problems/toString', undefined, 3]) {
      expect(problemCodeOf(other)).toBeUndefined();
    }
  });
});
