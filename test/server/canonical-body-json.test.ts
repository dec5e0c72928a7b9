import { describe, expect, it } from 'vitest';
import { canonicalJson, MAX_JSON_DEPTH, PayloadTooDeepError } from '../../src/protocol/index.js';
import { canonicalBodyJson } from '../../src/server/canonical-body-json.js';
import { nestedJson } from '../protocol/vectors.js';

describe('canonicalBodyJson', () => {
  it('writes random JSON, its names in any order, as a plain sort-then-serialise reference does', () => {
    // The reference: names sorted by UTF-16 code units at every level, everything else JSON.stringify's.
    const reference = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      if (typeof value !== 'object' || value === null) return JSON.stringify(value);
      const record = value as Record<string, unknown>;
      return `{${Object.keys(record).sort().map((name) => `${JSON.stringify(name)}:${reference(record[name])}`).join(',')}}`;
    };
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    // Integer-like names (which objects list first, in numeric order), escapes, a lone surrogate, non-ASCII.
    const names = ['a', 'b', 'B', 'item', 'qty', '2', '10', '01', '', 'é', '\u{1F600}', '"q"', 'line\n', '\ud800', 'a b'];
    const leaves = [null, true, false, 0, -0, 1, -1.5, 1e21, 1e-7, 'tea', '', 'é', '\ud800', 'x"y', '\u0000'];
    const make = (depth: number, sorted: boolean): unknown => {
      if (depth > 3 || random() < 0.35) return pick(leaves);
      if (random() < 0.4) return Array.from({ length: Math.floor(random() * 4) }, () => make(depth + 1, sorted));
      const chosen = [...new Set(Array.from({ length: Math.floor(random() * 5) }, () => pick(names)))];
      if (sorted) chosen.sort();
      else chosen.sort(() => random() - 0.5);
      return Object.fromEntries(chosen.map((name) => [name, make(depth + 1, sorted)]));
    };
    for (let i = 0; i < 2000; i++) {
      const value = make(0, i % 2 === 0);
      expect(canonicalBodyJson(value)).toBe(reference(value));
    }
  });

  it('writes a value whose serialisation would not be canonical (toJSON, another prototype, undefined, a hole, integer-like names) canonically', () => {
    class Order {
      a = 1;
      get b(): number {
        return 2;
      }
    }
    const nullPrototype = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [2] });
    const cases: Array<[unknown, string]> = [
      [{ a: new Date(0), b: 1 }, '{"a":"1970-01-01T00:00:00.000Z","b":1}'],
      [{ a: { toJSON: () => ({ z: 1, y: 2 }) } }, '{"a":{"y":2,"z":1}}'],
      [{ a: undefined, b: 1 }, '{"b":1}'],
      [[1, , 3], '[1,null,3]'],
      [{ '2': 'two', '10': 'ten' }, '{"10":"ten","2":"two"}'],
      [new Order(), '{"a":1}'],
      [nullPrototype, '{"a":1,"b":[2]}'],
      [{ a: new Number(1), b: new String('s') }, '{"a":1,"b":"s"}'],
      [undefined, 'null'],
    ];
    for (const [value, canonical] of cases) expect(canonicalBodyJson(value)).toBe(canonical);
    const inherited = Object.prototype as { toJSON?: unknown };
    inherited.toJSON = function (this: object) {
      return { z: 0, y: Object.keys(this).length };
    };
    try {
      expect(canonicalBodyJson({ a: 1 })).toBe('{"y":1,"z":0}');
    } finally {
      delete inherited.toJSON;
    }
  });

  it('refuses what is too deep as canonicalJson does, a cycle included', () => {
    expect(canonicalBodyJson(JSON.parse(nestedJson(MAX_JSON_DEPTH)))).toBe(canonicalJson(JSON.parse(nestedJson(MAX_JSON_DEPTH))));
    expect(() => canonicalBodyJson(JSON.parse(nestedJson(MAX_JSON_DEPTH + 1)))).toThrow(PayloadTooDeepError);
    const cyclic: Record<string, unknown> = { a: [] };
    (cyclic.a as unknown[]).push(cyclic);
    expect(() => canonicalBodyJson(cyclic)).toThrow(PayloadTooDeepError);
  });
});
