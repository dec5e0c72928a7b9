import { describe, expect, it } from 'vitest';
import { canonicalJson, jsonString } from '../../src/protocol/canonical-json.js';

describe('jsonString', () => {
  it('writes what JSON.stringify writes, escapes included', () => {
    const texts = ['', 'tea', 'a"b', 'a\\b', 'line\nbreak', '\u0000\u001f', 'tab\t', 'café', '注文', '😀', '\ud83d', 'x\ude00y', '\u2028\u2029', '</script>', '\u007f'];
    for (const text of texts) expect(jsonString(text), JSON.stringify(text)).toBe(JSON.stringify(text));
  });

  it('agrees with JSON.stringify on every single code unit, and on random strings of them', () => {
    for (let code = 0; code <= 0xffff; code++) {
      const text = `a${String.fromCharCode(code)}b`;
      if (jsonString(text) !== JSON.stringify(text)) expect.fail(`code unit ${code.toString(16)}`);
    }
    let seed = 17;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const text = String.fromCharCode(...Array.from({ length: next() % 12 }, () => (next() % 3 === 0 ? next() % 0x10000 : 0x20 + (next() % 0x60))));
      expect(jsonString(text)).toBe(JSON.stringify(text));
    }
  });

  it('is how canonical JSON writes names and strings', () => {
    expect(canonicalJson({ 'b"': 'x\ny', a: ['\ud800', '😀'] })).toBe('{"a":["\\ud800","😀"],"b\\"":"x\\ny"}');
  });
});

describe('canonical JSON member order', () => {
  it('is Array.prototype.sort order for few and many names, surrogates and case included', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const names = [...new Set(Array.from({ length: 1 + (next() % 24) }, () => String.fromCharCode(...Array.from({ length: 1 + (next() % 3) }, () => [0x41, 0x61, 0x5a, 0x30, 0xe9, 0xd83d, 0xffff][next() % 7]!))))];
      const value = Object.fromEntries(names.map((name, n) => [name, n]));
      const expected = `{${[...names].sort().map((name) => `${JSON.stringify(name)}:${value[name]}`).join(',')}}`;
      expect(canonicalJson(value)).toBe(expected);
    }
  });
});
