/**
 * Bytes allocated per request, by function: `node --import tsx bench/server/allocations.ts
 * [requests] target...` (e.g. `express express+submit-once(memory)`). Each target serves
 * in this process, loaded by a keep-alive client in this process too, while V8's sampling
 * heap profiler records every allocation (those collected since included). Allocation is
 * what the garbage collector pays for, and unlike time it does not move with the load on
 * the machine. The client's share is the same for every target: compare totals. A Redis
 * target gets a `redis-server` of its own (its allocations are not this process's).
 */
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { hasRedisServer, startRedis } from '../../test/server/redis-process.js';
import { build } from './apps.js';
import { keepAliveLoad } from './keep-alive-load.js';
import { TARGETS, type TargetName } from './target-names.js';

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}


async function measure(name: TargetName, requests: number, session: Session, redisUrl: string | undefined): Promise<void> {
  const server = createServer(await build(name, redisUrl));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const load = keepAliveLoad(port);
  await load.run(Math.min(5000, requests));
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await load.run(requests);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SamplingNode } };
  load.close();
  await new Promise((resolve) => server.close(resolve));
  const self = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode): void => {
    const { functionName, url } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/')}`;
    const label = `${functionName || '(anonymous)'}${where}`;
    self.set(label, (self.get(label) ?? 0) + node.selfSize);
    total += node.selfSize;
    node.children.forEach(walk);
  };
  walk(profile.head);
  console.log(`\n${name}: ${Math.round(total / requests)} bytes allocated per request (server and client), top functions:`);
  for (const [label, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${String(Math.round(bytes / requests)).padStart(6)} B  ${label}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const requests = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 20_000;
  const names = args.length === 0 ? (['express', 'express+submit-once(memory)', 'express+@node-idempotency/core'] as const) : args;
  for (const name of names) if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}`);
  const needsRedis = names.some((name) => name.includes('redis'));
  if (needsRedis && !hasRedisServer()) throw new Error('a Redis target needs redis-server on PATH');
  const redis = needsRedis ? await startRedis() : undefined;
  const session = new Session();
  session.connect();
  for (const name of names) await measure(name as TargetName, requests, session, redis?.url);
  session.disconnect();
  await redis?.stop();
  // The Redis target's client would keep reconnecting to the stopped server.
  process.exit(0);
}
