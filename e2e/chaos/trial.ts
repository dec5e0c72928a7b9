/**
 * One chaos trial: a burst of faults around one intent in real Chromium, the user trying
 * again until a definitive answer or a bound, then the invariants at the origin.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import type { FaultProxy } from './fault-proxy.js';
import { isDefinitive, read, verdict, violations, type Reading, type Told } from './invariants.js';
import { sleep, type CountingOrigin, type IntentLedger } from './origin.js';
import { ANSWERS_KEY, DELIVERED_KEY, type ClientOptions, type SubmitResult } from './page-api.js';
import { RedisProcess, VerifierProcess } from './processes.js';
import { needsOwnServers, type Schedule } from './schedule.js';

export interface TrialEnv {
  browser: Browser;
  origin: CountingOrigin;
  originUrl: string;
  proxy: FaultProxy;
  proxyUrl: string;
  /** The verifier trials without process faults share, for this store. */
  shared: VerifierProcess;
  /** The Redis the shared verifier uses; trials with a kill -9 use it too. */
  sharedRedisUrl?: string;
  tmpDir: string;
  recovery: boolean;
  /** Where the verifier's code comes from (`--verifier-root`); default this checkout. */
  verifierRoot?: string | undefined;
}

export interface TrialResult {
  schedule: Schedule;
  told: Told[];
  ledger: { executions: number; runs: number; requests: number; keys: number; recoveries: number; orders: string[] };
  proxyLog: string[];
  /** Runner-side notes (kills, restarts, outages, reloads), in ms from the trial's start. */
  notes: string[];
  violations: string[];
  verdict: Reading;
  ms: number;
}

/** A trial that takes longer than this is stuck (a wedged key, a hung store). */
const TRIAL_BUDGET_MS = 90_000;

export async function runTrial(schedule: Schedule, env: TrialEnv): Promise<TrialResult> {
  const started = Date.now();
  // The intent id is unique per trial and repetition, so it names the proxy lane too.
  const lane = schedule.intentId;
  const ledger = env.origin.register(schedule.intentId, schedule.origin);
  const notes: string[] = [];
  const note = (what: string): void => {
    notes.push(`+${Date.now() - started}ms ${what}`);
  };
  const proxyLog: string[] = [];
  const told: Told[] = [];
  let own: OwnServers | undefined;
  let context: BrowserContext | undefined;
  try {
    own = needsOwnServers(schedule) ? await ownServers(schedule, env, lane) : undefined;
    const verifier = own?.verifier ?? env.shared;
    env.proxy.open(lane, { faults: schedule.proxy, port: () => verifier.port, log: proxyLog });
    context = await env.browser.newContext();
    await withBudget(drive(schedule, env, context, lane, ledger, verifier, own?.redis, told, note), TRIAL_BUDGET_MS, `trial ${schedule.trial}`);
    await quiesce(ledger, schedule.origin.handlerMs);
  } finally {
    await context?.close().catch(() => undefined);
    env.proxy.close(lane);
    await own?.close();
    env.origin.forget(schedule.intentId);
  }
  return {
    schedule,
    told,
    ledger: { executions: ledger.executions, runs: ledger.runs, requests: ledger.requests, keys: ledger.keys.size, recoveries: ledger.recoveries, orders: [...ledger.orders] },
    proxyLog,
    notes,
    violations: violations(told, ledger),
    verdict: verdict(told),
    ms: Date.now() - started,
  };
}

async function drive(
  s: Schedule,
  env: TrialEnv,
  context: BrowserContext,
  lane: string,
  ledger: IntentLedger,
  verifier: VerifierProcess,
  redis: RedisProcess | undefined,
  told: Told[],
  note: (what: string) => void,
): Promise<void> {
  const pageUrl = `${env.proxyUrl}/t/${lane}/chaos.html`;
  const apiUrl = `/t/${lane}/api/orders`;
  const body = { intentId: s.intentId, sku: 'chaos', qty: 1 };
  const client: ClientOptions = { ...s.client };
  let offline = false;

  const open = async (page: Page): Promise<void> => {
    // A reload while offline fails, or loads the page without its script: the user waits
    // for the network and reloads again.
    const deadline = Date.now() + 20_000;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await page.goto(pageUrl, { waitUntil: 'load', timeout: 10_000 });
        await page.waitForFunction(() => window.chaos !== undefined, undefined, { timeout: 2_000 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        // A page created while the context goes back online can keep the offline
        // emulation (seen with Playwright 1.65): say "online" again once the spell is over.
        if (!offline && attempt >= 2) await context.setOffline(false);
        await sleep(offline ? 100 : 250);
      }
    }
    await page.evaluate((options) => window.chaos.setup(options), client);
  };
  const submit = async (page: Page, count: number, who: string): Promise<void> => {
    let results: SubmitResult[];
    try {
      results = await page.evaluate(([n, url, payload]) => window.chaos.submitMany(n, url, payload), [count, apiUrl, body] as const);
    } catch (error) {
      // The page navigated away (a reload) with the submissions pending: nobody was told.
      results = Array.from({ length: count }, () => ({ kind: 'lost' as const, message: String(error).split('\n')[0] ?? '' }));
    }
    results.forEach((result, i) => told.push({ who: count > 1 ? `${who}#${i}` : who, result }));
  };

  /**
   * Whether the user already holds a definitive answer. A submission started after it is
   * a new intent by design (past the SDK's settle window it gets a new key), so the user
   * only submits again, from another tab or after a reload, while still without one. Read
   * from what the runner was told and from what any tab of the trial was handed
   * (`ANSWERS_KEY`): a tab reloading while offline told the runner nothing for seconds,
   * and the second tab, asked meanwhile, ordered the same cart again past the settle
   * window (seed 1, trial 133). What the runner reads lags the pages by milliseconds, well
   * inside the settle window (1 s), where the same key is reused and the answer replayed.
   */
  const answered = (): boolean => told.some((t) => isDefinitive(read(t.result)));
  const answeredInAnyTab = async (page: Page): Promise<boolean> => {
    const kept = await page.evaluate((key) => localStorage.getItem(key), ANSWERS_KEY);
    return kept !== null && (JSON.parse(kept) as SubmitResult[]).some((result) => isDefinitive(read(result)));
  };
  const submitUnlessAnswered = async (page: Page, who: string): Promise<void> => {
    if (answered() || (await answeredInAnyTab(page))) {
      note(`${who} does not submit: the user already has an answer`);
      return;
    }
    await submit(page, 1, who);
  };

  const tabA = await context.newPage();
  await open(tabA);
  const t0 = Date.now();
  const at = (ms: number): Promise<void> => sleep(Math.max(0, t0 + ms - Date.now()));
  /** `ms` after the origin first saw the intent, or after 3 s if it never does. */
  const afterFirstSeen = async (ms: number): Promise<void> => {
    await Promise.race([ledger.firstSeen, sleep(3000)]);
    await sleep(ms);
  };

  const burst: Promise<void>[] = [submit(tabA, s.clicks, 'A')];
  if (s.secondTab) {
    const { atMs } = s.secondTab;
    burst.push(
      (async () => {
        await at(atMs);
        const tabB = await context.newPage();
        await open(tabB);
        await submitUnlessAnswered(tabB, 'B');
      })(),
    );
  }
  if (s.reload) {
    const { atMs } = s.reload;
    burst.push(
      (async () => {
        await at(atMs);
        note('reload tab A');
        await open(tabA);
        // What the SDK handed to the page before the reload is what the user was told, even
        // if the runner never heard it: the page kept it (see DELIVERED_KEY).
        for (const result of await deliveredBefore(tabA)) told.push({ who: 'A (handed over before the reload)', result });
        await submitUnlessAnswered(tabA, 'A-reloaded');
      })(),
    );
  }
  if (s.offline) {
    const { atMs, ms } = s.offline;
    burst.push(
      (async () => {
        await at(atMs);
        note('offline');
        offline = true;
        await context.setOffline(true);
        await sleep(ms);
        await context.setOffline(false);
        offline = false;
        note('online');
      })(),
    );
  }
  if (s.kill) {
    const { afterMs, downMs } = s.kill;
    burst.push(
      (async () => {
        await afterFirstSeen(afterMs);
        note(`kill -9 verifier (origin in flight: ${ledger.inFlight})`);
        await verifier.kill();
        await sleep(downMs);
        await verifier.start();
        note('verifier restarted');
      })(),
    );
  }
  if (s.storeOutage && redis) {
    const { mode, afterMs, ms } = s.storeOutage;
    burst.push(
      (async () => {
        await afterFirstSeen(afterMs);
        note(`redis ${mode === 'pause' ? 'SIGSTOP' : 'kill -9'}`);
        if (mode === 'pause') redis.pause();
        else await redis.kill();
        await sleep(ms);
        if (mode === 'pause') redis.resume();
        else await redis.start();
        note(`redis ${mode === 'pause' ? 'SIGCONT' : 'restarted'}`);
      })(),
    );
  }
  await Promise.all(burst);

  // The user tries again with the same intent (same tab, so the key comes from IndexedDB
  // or the settle window) until a definitive answer or the bound.
  for (let i = 1; i <= s.tries && !answered(); i += 1) {
    await sleep(s.tryGapMs);
    await submit(tabA, 1, `try ${i}`);
  }
}

interface OwnServers {
  verifier: VerifierProcess;
  redis?: RedisProcess;
  close(): Promise<void>;
}

/** A verifier (and for a store outage a Redis) that only this trial's faults touch. */
async function ownServers(s: Schedule, env: TrialEnv, lane: string): Promise<OwnServers> {
  let redis: RedisProcess | undefined;
  let store: string;
  if (s.store === 'file') {
    store = `file:${join(env.tmpDir, `${lane}.log`)}`;
  } else if (s.storeOutage) {
    // An outage of its own, so no other trial's store goes down with it.
    const dir = join(env.tmpDir, `redis-${lane}`);
    await mkdir(dir, { recursive: true });
    redis = new RedisProcess(dir);
    await redis.start();
    store = `redis:${redis.url}`;
  } else {
    store = `redis:${env.sharedRedisUrl ?? ''}`;
  }
  const verifier = new VerifierProcess({ upstream: env.originUrl, store, leaseMs: s.leaseMs, recovery: env.recovery, root: env.verifierRoot });
  const close = async (): Promise<void> => {
    await verifier.stop();
    await redis?.stop();
  };
  try {
    await verifier.start();
  } catch (error) {
    await close();
    throw error;
  }
  return { verifier, ...(redis ? { redis } : {}), close };
}

/**
 * Waits until no handler for the intent is still running at the origin: a run that lost
 * its client (kill -9, cut) still commits, and a duplicate counted after the verdict is
 * a duplicate all the same.
 */
async function quiesce(ledger: IntentLedger, handlerMs: number): Promise<void> {
  const deadline = Date.now() + handlerMs * 2 + 5000;
  let quiet = 0;
  while (Date.now() < deadline && quiet < 3) {
    quiet = ledger.inFlight === 0 ? quiet + 1 : 0;
    await sleep(100);
  }
}

async function withBudget<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  // Out of time, the work goes on until the context closes under it; its failure then is
  // expected and must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The answers the page kept before it was reloaded, once (they are cleared as read). */
async function deliveredBefore(page: Page): Promise<SubmitResult[]> {
  const kept = await page.evaluate((key) => {
    const value = sessionStorage.getItem(key);
    sessionStorage.removeItem(key);
    return value;
  }, DELIVERED_KEY);
  return kept === null ? [] : Object.values(JSON.parse(kept) as Record<string, SubmitResult>);
}
