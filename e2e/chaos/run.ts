/**
 * The chaos suite: seeded random fault schedules against the real verifier process, in
 * real Chromium, with the invariants counted at an origin that knows nothing of submit-once.
 *
 *   npm run test:chaos                                  # 200 trials per store, file and Redis
 *   npm run test:chaos:sample                           # the small fixed-seed CI sample
 *   npm run test:chaos -- --seed 42 --trial 17 --store redis   # replay one trial
 *
 * Options: --seed N, --trials N, --trial N (only that one), --store file|redis|both,
 * --recovery (verifier --recovery and a recovery-aware origin), --concurrency N,
 * --lease-ms N, --repeat N (run each trial N times: a replayed schedule is exact, the
 * timing of real processes is not, so a race may take a few runs), --verifier-root PATH
 * (run the verifier of another checkout, e.g. a server branch before it merges), --verbose. Env: CHAOS_SEED, CHAOS_TRIAL, CHAOS_TRIALS, CHAOS_STORE.
 * Exits 1 on any violation or a trial that could not run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { bundleChaosPage } from './bundle.js';
import { FaultProxy } from './fault-proxy.js';
import { CountingOrigin } from './origin.js';
import { RedisProcess, VerifierProcess } from './processes.js';
import { drawSchedule, faultKinds, needsOwnServers, type Schedule, type StoreKind } from './schedule.js';
import { runTrial, type TrialEnv, type TrialResult } from './trial.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: process.env.CHAOS_SEED ?? '1' },
    trials: { type: 'string', default: process.env.CHAOS_TRIALS ?? '200' },
    trial: { type: 'string', default: process.env.CHAOS_TRIAL },
    store: { type: 'string', default: process.env.CHAOS_STORE ?? 'both' },
    recovery: { type: 'boolean', default: process.env.CHAOS_RECOVERY === '1' },
    concurrency: { type: 'string', default: process.env.CHAOS_CONCURRENCY ?? '6' },
    'lease-ms': { type: 'string', default: process.env.CHAOS_LEASE_MS ?? '1500' },
    repeat: { type: 'string', default: '1' },
    'verifier-root': { type: 'string', default: process.env.CHAOS_VERIFIER_ROOT },
    verbose: { type: 'boolean', default: false },
  },
});

const seed = whole('--seed', values.seed);
const trialCount = whole('--trials', values.trials);
const only = values.trial === undefined ? undefined : whole('--trial', values.trial);
const concurrency = Math.max(1, whole('--concurrency', values.concurrency));
const leaseMs = whole('--lease-ms', values['lease-ms']);
const recovery = values.recovery;
const repeat = Math.max(1, whole('--repeat', values.repeat));
const verifierRoot = values['verifier-root'];
const stores: StoreKind[] = values.store === 'both' ? ['file', 'redis'] : values.store === 'file' || values.store === 'redis' ? [values.store] : fail(`--store must be file, redis or both, got ${values.store}`);

/** The system Chromium where there is one (as playwright.config.ts picks it). */
const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);

const tmpDir = await mkdtemp(join(tmpdir(), 'submit-once-chaos-'));
const bundle = await bundleChaosPage();
const browser = await chromium.launch({
  ...(executablePath ? { executablePath } : {}),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const origin = new CountingOrigin();
const originUrl = await origin.listen();
const proxy = new FaultProxy(bundle, 'chaos.js');
const proxyUrl = await proxy.listen();

const trials = only === undefined ? Array.from({ length: trialCount }, (_, i) => i) : [only];
console.log(
  `chaos: seed ${seed}, ${only === undefined ? `${trialCount} trials` : `trial ${only}`}${repeat > 1 ? ` x${repeat}` : ''} per store (${stores.join(', ')}), lease ${leaseMs} ms, recovery ${recovery ? 'on' : 'off'}, ${concurrency} at a time${verifierRoot ? `, verifier from ${verifierRoot}` : ''}`,
);

let passed = 0;
let failed = 0;
const started = Date.now();
try {
  for (const store of stores) {
    const results = await runStore(store);
    summarise(store, results);
  }
} catch (error) {
  // The harness itself could not run (a verifier that will not start, e.g. an unknown
  // flag such as --recovery on a verifier without it): no trial verdict to give.
  console.error(`chaos: the run stopped: ${error instanceof Error ? error.message : String(error)}`);
  failed += 1;
} finally {
  await browser.close().catch(() => undefined);
  await proxy.stop();
  await origin.close();
  await rm(tmpDir, { recursive: true, force: true });
}
console.log(`chaos: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

async function runStore(store: StoreKind): Promise<TrialResult[]> {
  let redis: RedisProcess | undefined;
  if (store === 'redis') {
    redis = new RedisProcess(tmpDir);
    await redis.start();
  }
  const shared = new VerifierProcess({
    upstream: originUrl,
    store: store === 'file' ? `file:${join(tmpDir, 'shared.log')}` : `redis:${redis?.url ?? ''}`,
    leaseMs,
    recovery,
    root: verifierRoot,
  });
  const results: TrialResult[] = [];
  try {
    await shared.start();
    const env: TrialEnv = { browser, origin, originUrl, proxy, proxyUrl, shared, tmpDir, recovery, verifierRoot, ...(redis ? { sharedRedisUrl: redis.url } : {}) };
    const schedules = trials.flatMap((trial) => {
      const schedule = drawSchedule({ seed, trial, store, leaseMs, recovery });
      if (repeat === 1) return [schedule];
      // Each run of a repeated trial counts into an intent (and a proxy lane) of its own.
      return Array.from({ length: repeat }, (_, run) => ({ ...schedule, intentId: `${schedule.intentId}-r${run}` }));
    });
    // Trials with their own verifier cost a process start (~0.5 s of CPU): fewer at once.
    await pool(schedules, concurrency, async (schedule) => {
      const result = await runOne(schedule, env);
      results.push(result);
      report(result);
    });
  } finally {
    await shared.stop();
    await redis?.stop();
  }
  return results.sort((a, b) => a.schedule.trial - b.schedule.trial);
}

async function runOne(schedule: Schedule, env: TrialEnv): Promise<TrialResult> {
  try {
    return await runTrial(schedule, env);
  } catch (error) {
    return {
      schedule,
      told: [],
      ledger: { executions: 0, runs: 0, requests: 0, keys: 0, recoveries: 0, orders: [] },
      proxyLog: [],
      notes: [],
      violations: [`the trial could not run: ${error instanceof Error ? error.message : String(error)}`],
      verdict: 'lost',
      ms: 0,
    };
  }
}

function report(result: TrialResult): void {
  const s = result.schedule;
  const kinds = faultKinds(s).join(' ') || 'none';
  if (result.violations.length === 0) {
    passed += 1;
    if (values.verbose || only !== undefined) {
      console.log(`ok   ${s.store} trial ${s.trial} (${result.ms} ms, ${result.verdict}, executions ${result.ledger.executions}): ${kinds}`);
      if (only !== undefined) console.log(details(result));
    }
    return;
  }
  failed += 1;
  console.log(`FAIL ${s.store} trial ${s.trial} (seed ${s.seed}): ${result.violations.join('; ')}`);
  console.log(details(result));
  console.log(`  replay: npm run test:chaos -- --seed ${s.seed} --trial ${s.trial} --store ${s.store} --lease-ms ${s.leaseMs}${recovery ? ' --recovery' : ''}${verifierRoot ? ` --verifier-root ${verifierRoot}` : ''}`);
}

function details(result: TrialResult): string {
  const told = result.told.map((t) => `    ${t.who}: ${describeResult(t.result)}`).join('\n');
  return [
    `  faults: ${faultKinds(result.schedule).join(' ') || 'none'}`,
    `  schedule: ${JSON.stringify(result.schedule)}`,
    `  origin: ${JSON.stringify(result.ledger)}`,
    `  proxy: ${result.proxyLog.join(' | ') || '-'}`,
    `  runner: ${result.notes.join(' | ') || '-'}`,
    `  told:\n${told || '    (nothing)'}`,
  ].join('\n');
}

function describeResult(result: TrialResult['told'][number]['result']): string {
  if (result.kind === 'response') {
    const body = result.bodyError === undefined ? (result.problemType ?? JSON.stringify(result.body)) : `(body not read: ${result.bodyError})`;
    return `${result.status}${result.replayed ? ' replayed' : ''} ${body}`;
  }
  if (result.kind === 'error') return `${result.name}${result.code ? ` (${result.code})` : ''}: ${result.message}`;
  return `lost: ${result.message}`;
}

function summarise(store: StoreKind, results: TrialResult[]): void {
  const bad = results.filter((r) => r.violations.length > 0);
  const duplicates = results.filter((r) => r.ledger.executions > 1).length;
  const verdicts = new Map<string, number>();
  for (const r of results) verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
  const kinds = new Map<string, number>();
  for (const r of results) for (const kind of faultKinds(r.schedule)) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  const times = results.map((r) => r.ms).sort((a, b) => a - b);
  const own = results.filter((r) => needsOwnServers(r.schedule)).length;
  console.log(
    `${store}: ${results.length} trials (${own} with a verifier of their own), ${bad.length} with violations, ${duplicates} with duplicate executions; ` +
      `told: ${[...verdicts].map(([k, n]) => `${k} ${n}`).join(', ')}; trial ms median ${times[Math.floor(times.length / 2)] ?? 0}, max ${times.at(-1) ?? 0}`,
  );
  console.log(`${store}: faults drawn: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (bad.length > 0) console.log(`${store}: failing trials: ${bad.map((r) => r.schedule.trial).join(', ')}`);
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

function whole(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`${flag} must be a whole number, got ${String(value)}`);
  return n;
}

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}
