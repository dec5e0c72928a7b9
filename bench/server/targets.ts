/**
 * One benchmark target per process: `node --import tsx bench/server/targets.ts <name> [redisUrl]`
 * (or the compiled bundle of it, `compile.ts`) starts the named server (`apps.ts`) on a
 * free loopback port and prints `PORT <n>`. `GET /__bench/cpu` answers, space-separated,
 * the process's user and system CPU µs so far, the collector's pauses so far (minor, then
 * the rest, µs), its involuntary context switches so far and the main thread's CPU µs
 * (`/proc/thread-self/schedstat`, -1 where missing), the rest being V8's and libuv's helpers.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { build } from './apps.js';
import { TARGETS, type TargetName } from './target-names.js';

const [name, redisUrl] = process.argv.slice(2);
if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}; one of ${TARGETS.join(', ')}`);
const app = await build(name as TargetName, redisUrl);
/** The main thread's CPU µs so far; the rest of the process's CPU is its helper threads'. */
function mainThreadMicros(): number {
  try {
    return Math.round(Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000);
  } catch {
    return -1;
  }
}

// The collector's pauses, to tell its share of a slice's CPU from the rest.
let minorGcMicros = 0;
let otherGcMicros = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcMicros += entry.duration * 1000;
    else otherGcMicros += entry.duration * 1000;
  }
}).observe({ entryTypes: ['gc'] });
// CPU time spent by this process, read before and after a run: unlike req/s it barely
// moves when other processes compete for the machine.
const server = createServer((req, res) => {
  if (req.url === '/__bench/cpu') {
    const { user, system } = process.cpuUsage();
    res.end(`${user} ${system} ${Math.round(minorGcMicros)} ${Math.round(otherGcMicros)} ${process.resourceUsage().involuntaryContextSwitches} ${mainThreadMicros()}`);
    return;
  }
  app(req, res);
});
server.keepAliveTimeout = 60_000;
// A clean exit, so that `--cpu-prof` (bench:server --profile) writes its profile.
process.once('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  console.log(`PORT ${(server.address() as AddressInfo).port}`);
});
