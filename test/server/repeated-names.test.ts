import { describe, expect, it } from 'vitest';
import { repeatsNames } from '../../src/server/repeated-names.js';

describe('repeatsNames', () => {
  const cases: Array<[string, boolean]> = [
    ['{"a":1,"a":2}', true],
    ['{"x":{"a":1,"a":":"},"y":"z"}', true],
    ['{"a":"x:y","a":2}', true],
    ['[{"to":"a"},{"to":"a","to":"b"}]', true],
    ['{"a":1,"b":2}', false],
    ['{"a:b":1,"c":"d:e","t":"13:06:32","u":"https://x"}', false],
    ['[":",":"]', false],
    ['":"', false],
    // Escapes: a quote or a backslash inside a string, a colon spelled \u003a.
    ['{"a\\"":"b\\\\","c":":"}', false],
    ['{"a\\"":1,"a\\"":2}', true],
    ['{"a\\u003a":1,"b":2}', false],
    ['{"a":"\\u003A","b":1}', false],
    ['{"a":"\\u003a","a":1}', true],
    ['{"n":"line\\nbreak: 10:30","n":"x"}', true],
  ];
  for (const [text, expected] of cases) {
    it(`${text}: ${expected ? 'a name twice' : 'no name twice'}`, () => {
      expect(repeatsNames(text, JSON.parse(text))).toBe(expected);
    });
  }
});
