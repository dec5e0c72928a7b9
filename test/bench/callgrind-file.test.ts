import { describe, expect, it } from 'vitest';
import { perfMapNamer, selfCosts } from '../../bench/server/callgrind-file.js';

// The shape callgrind writes: names compressed to ids after their first use, a call's
// inclusive cost on the line after `calls=`, positions relative (+n, -n) or repeated (*).
const FILE = `# callgrind format
version: 1
positions: line
events: Ir Dr D1mr

fl=(1) ???
fn=(1) 0x000000000d135600
0 100 40 2
+2 20 5 1
cfn=(2) Builtins_LoadIC_Megamorphic
calls=3 0
* 900 300 30
fn=(2)
0 700 200 20
fn=(3) 0x000000000d200010
-1 50 10 0
cfn=(2)
calls=1 0
0 300 100 10
fn=(1)
0 5 1 0

totals: 1875 556 63
`;

const MAP = `d135600 80 JS:*writeText file:///bench/targets.mjs:1836:19
d135680 40 JS:~other file:///bench/targets.mjs:10:1
d200000 100 JS:~claim file:///bench/targets.mjs:99:3
d200000 100 JS:*claim file:///bench/targets.mjs:99:3
`;

describe('selfCosts', () => {
  it("adds each function's own lines and leaves out what its calls cost", () => {
    expect(Object.fromEntries(selfCosts(FILE))).toEqual({ '0x000000000d135600': 125, Builtins_LoadIC_Megamorphic: 700, '0x000000000d200010': 50 });
  });

  it('reads the event asked for', () => {
    expect(selfCosts(FILE, 'D1mr').get('Builtins_LoadIC_Megamorphic')).toBe(20);
    expect(() => selfCosts(FILE, 'Bcm')).toThrow(/no Bcm/);
  });

  it("names compiled code by the perf map, the latest code object at an address, a function's objects together", () => {
    const costs = selfCosts(FILE, 'Ir', perfMapNamer(MAP));
    expect(Object.fromEntries(costs)).toEqual({
      'JS:*writeText file:///bench/targets.mjs': 125,
      Builtins_LoadIC_Megamorphic: 700,
      'JS:*claim file:///bench/targets.mjs': 50,
    });
  });

  it('keeps an address the map does not hold', () => {
    expect(perfMapNamer(MAP)('0x0000000000000010')).toBe('0x0000000000000010');
  });
});
