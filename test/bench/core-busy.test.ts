import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { coreBusyMicros } from '../../bench/server/core-busy.js';

describe.runIf(existsSync('/proc/stat'))('coreBusyMicros', () => {
  it('counts the busy time of the cores named, and grows while this process spins', () => {
    const all = Array.from({ length: availableParallelism() }, (_, i) => i);
    const before = coreBusyMicros(all);
    const until = Date.now() + 60;
    while (Date.now() < until);
    const after = coreBusyMicros(all);
    expect(before).toBeGreaterThan(0);
    // 60 ms of this thread's own spinning, at the kernel's 10 ms tick.
    expect(after! - before!).toBeGreaterThanOrEqual(40_000);
  });

  it('is undefined for a core the machine does not have', () => {
    expect(coreBusyMicros([4096])).toBeUndefined();
  });
});
