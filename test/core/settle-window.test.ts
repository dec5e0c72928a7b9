import { describe, expect, it } from 'vitest';
import { settleWindow } from '../../src/core/settle-window.js';

const ok = (value: string) => ({ ok: true as const, value });

describe('settleWindow', () => {
  it('recalls an answer inside the window only', () => {
    let now = 0;
    const recent = settleWindow(1000, () => now);
    recent.remember('a', ok('first'));
    now = 999;
    expect(recent.recall('a')).toEqual(ok('first'));
    now = 1000;
    expect(recent.recall('a')).toBeUndefined();
  });

  it('keeps the newer answer of an id remembered twice, for its own window', () => {
    let now = 0;
    const recent = settleWindow(1000, () => now);
    recent.remember('a', ok('first'));
    now = 500;
    recent.remember('b', ok('b'));
    now = 600;
    recent.remember('a', ok('second'));
    // b's window has ended, a's second one has not: expiring b must not take a with it.
    now = 1550;
    recent.remember('c', ok('c'));
    expect(recent.recall('a')).toEqual(ok('second'));
    expect(recent.recall('b')).toBeUndefined();
    expect(recent.recall('c')).toEqual(ok('c'));
  });

  it('does not stretch the window when the clock is set back', () => {
    let now = 10 * 3_600_000;
    const recent = settleWindow(1000, () => now);
    recent.remember('a', ok('first'));
    now -= 300;
    expect(recent.recall('a')).toEqual(ok('first'));
    now -= 3_600_000;
    expect(recent.recall('a')).toBeUndefined();
  });

  it('remembers nothing with a window of 0, and forgets what matches', () => {
    const none = settleWindow(0, () => 0);
    none.remember('a', ok('a'));
    expect(none.recall('a')).toBeUndefined();
    const recent = settleWindow(1000, () => 0);
    recent.remember('fp', ok('x'));
    recent.remember('fp\u0000key', ok('y'));
    recent.remember('other', ok('z'));
    recent.forget((id) => id.startsWith('fp'));
    expect([recent.recall('fp'), recent.recall('fp\u0000key'), recent.recall('other')]).toEqual([undefined, undefined, ok('z')]);
  });
});
