/**
 * One benchmark target per process: `node --import tsx bench/server/targets.ts <name> [redisUrl]`
 * (or the compiled bundle of it, `compile.ts`) starts the named server (`apps.ts`) on a
 * free loopback port and prints `PORT <n>`. `GET /__bench/cpu` answers the process's user
 * and system CPU µs so far, space-separated.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from './apps.js';
import { TARGETS, type TargetName } from './target-names.js';

const [name, redisUrl] = process.argv.slice(2);
if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}; one of ${TARGETS.join(', ')}`);
const app = await build(name as TargetName, redisUrl);
// CPU time spent by this process, read before and after a run: unlike req/s it barely
// moves when other processes compete for the machine.
const server = createServer((req, res) => {
  if (req.url === '/__bench/cpu') {
    const { user, system } = process.cpuUsage();
    res.end(`${user} ${system}`);
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
