/**
 * CPU time the kernel counts as busy on some cores (`/proc/stat`, in clock ticks turned to
 * µs), to see how much of a server core's time during a slice went to processes other than
 * the one being loaded. Undefined where `/proc/stat` is missing.
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: `/proc/stat` counts in hundredths of a second on every platform Node runs on. */
const MICROS_PER_TICK = 10_000;

export function coreBusyMicros(cores: readonly number[]): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  let busy = 0;
  for (const core of cores) {
    const line = text.split('\n').find((l) => l.startsWith(`cpu${core} `));
    if (line === undefined) return undefined;
    // user nice system idle iowait irq softirq steal ...: all but idle and iowait are busy.
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    busy += ticks.reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0);
  }
  return busy * MICROS_PER_TICK;
}
