/**
 * Keeps the load generator and the servers on separate cores (`taskset`), so the servers'
 * CPU per request is not paid for in cache and migrations when autocannon and a server
 * swap cores mid-slice. The bench starts its redis-server after pinning itself, so Redis
 * runs on the load's core. Other processes on the machine are not pinned and still share
 * both. Off where `taskset` is missing, with one core, or with BENCH_PIN=0.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Pinning {
  /** The command prefix that starts a server on the server cores. */
  readonly serverPrefix: readonly string[];
  /** The cores the servers run on (empty when not pinned). */
  readonly serverCores: readonly number[];
  /** What the run's header says about it. */
  readonly note: string;
}

export function pinCores(wanted: boolean): Pinning {
  const cores = availableParallelism();
  if (!wanted) return { serverPrefix: [], serverCores: [], note: 'not pinned (BENCH_PIN=0)' };
  if (cores < 2) return { serverPrefix: [], serverCores: [], note: 'not pinned (one core)' };
  const servers = cores === 2 ? '1' : `1-${cores - 1}`;
  // -a: every thread of this process, autocannon's included.
  const self = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  if (self.error !== undefined || self.status !== 0) return { serverPrefix: [], serverCores: [], note: 'not pinned (no taskset)' };
  const serverCores = Array.from({ length: cores - 1 }, (_, i) => i + 1);
  return { serverPrefix: ['taskset', '-c', servers], serverCores, note: `load on core 0, servers on core ${servers}` };
}
