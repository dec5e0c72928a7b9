/**
 * One replay pass over the held requests, under a Web Lock so one page or worker of the
 * origin replays at a time: each due item is sent again with its key, in the order held,
 * and either ends (a final answer, removed or recorded) or waits for a later pass (network
 * error, 5xx, 408/409/425/429). A request that gets no answer stops the pass only for its
 * origin, and only once two more requests there got none either. Shared by the page's outbox
 * and the service worker, so both follow the same rule.
 */
import { defaultClassifier, type Classifier, type KeyReusedMatch, type Verdict } from '../../core/classify.js';
import type { LockManagerLike } from '../../core/options.js';
import type { OutboxItem, StoredAnswer } from './outbox-item.js';
import { outboxStore } from './outbox-store.js';
import { readAnswer, toRequest, toResponse } from './storable-request.js';

export interface Backoff {
  /** Delay before the first replay of a request held after an ambiguous end, and the first backoff step (ms). */
  baseDelay: number;
  maxDelay: number;
}

export interface ReplayOptions {
  databaseName: string;
  fetch: (request: Request) => Promise<Response>;
  /** Re-applies what was not stored (credentials); a throw leaves the item for a later pass. */
  beforeReplay: ((request: Request) => Request | Promise<Request>) | undefined;
  locks: LockManagerLike | undefined;
  now: () => number;
  random: () => number;
  backoff: Backoff;
  keyReused: KeyReusedMatch | undefined;
  /** Judges each answer instead of the built-in classifier (with `keyReused`). */
  classify: Classifier<Response> | undefined;
  /**
   * The rule of the submission that held an item, if it waits in this page (in memory:
   * a function cannot be stored): true ends the item on an answer `classify` would keep.
   */
  isFinal?: ((id: string, answer: Response, now: number) => Promise<boolean>) | undefined;
  /** How long one replay may take (`beforeReplay`, the request, its answer's body), in ms. */
  timeout: number;
  /** Every queued item now (online, `flush()`), or only those due (the backoff timer). */
  all: boolean;
  /** `remove`: a page reports the answer itself. `record`: a service worker keeps it for a page to report. */
  settle: 'remove' | 'record';
}

export type ReplayReport =
  | { kind: 'answered'; item: OutboxItem; answer: StoredAnswer }
  | { kind: 'deferred'; item: OutboxItem; status?: number | undefined }
  | { kind: 'expired'; item: OutboxItem };

export function lockName(databaseName: string): string {
  return `submit-once-outbox:${databaseName}`;
}

/** Exponential with equal jitter: never 0, so a failing server is not hit in a loop. */
export function replayDelay(attempts: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.maxDelay, backoff.baseDelay * 2 ** Math.max(0, attempts - 1));
  return Math.ceil(ceiling / 2 + (random() * ceiling) / 2);
}

export function replayQueued(options: ReplayOptions): Promise<ReplayReport[]> {
  const pass = () => replayPass(options);
  // Without Web Locks two tabs may both send an item: the same key, so the server acts once.
  return options.locks ? options.locks.request(lockName(options.databaseName), {}, pass) : pass();
}

async function replayPass(options: ReplayOptions): Promise<ReplayReport[]> {
  const store = outboxStore(options.databaseName);
  const reports: ReplayReport[] = [];
  const items = (await store.all()).filter((item) => item.state === 'queued');
  const tried = new Set<string>();
  /** Origins that answered a request in this pass, and those taken as down (nothing more sent to them). */
  const up = new Set<string>();
  const down = new Set<string>();
  const due = (item: OutboxItem, now: number) => item.expiresAt > now && (options.all || item.nextAttemptAt <= now);

  /** Sends one item; `unanswered` when no answer came (network error, timeout, `beforeReplay` threw). */
  async function attempt(item: OutboxItem): Promise<'answered' | 'unanswered' | 'gone'> {
    tried.add(item.id);
    // The attempt is counted before it is sent; an item cancelled meanwhile is skipped.
    const before = await store.update(item.id, (current) => (current?.state === 'queued' ? { ...current, attempts: current.attempts + 1 } : undefined));
    if (before?.state !== 'queued') return 'gone';
    const sent = { ...before, attempts: before.attempts + 1 };
    let answer: StoredAnswer;
    // A replay that never ends would hold the pass, and the origin's lock, for ever: aborted
    // at the bound (the server may have acted: the same key replays its answer), and raced,
    // for a hook or a fetch that ignores the signal.
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TypeError('replay timed out')), Math.min(options.timeout, 2 ** 31 - 1));
    });
    try {
      answer = await Promise.race([
        (async () => {
          let request = toRequest(sent, controller.signal);
          if (options.beforeReplay) request = await options.beforeReplay(request);
          return readAnswer(await options.fetch(request));
        })(),
        timedOut,
      ]);
    } catch {
      controller.abort();
      reports.push(await defer(store, sent, options, undefined, undefined));
      return 'unanswered';
    } finally {
      clearTimeout(timer);
    }
    const verdict = await judge(sent, answer, options);
    if (verdict.kind === 'ambiguous') {
      reports.push(await defer(store, sent, options, verdict.status, verdict.retryAfterMs));
      return 'answered';
    }
    // A final answer (2xx-4xx, key reused, a stored failure, outcome unknown): it ends the item.
    if (options.settle === 'remove') await store.update(sent.id, () => null);
    // Cancelled while on the wire, it ran all the same: its answer is still recorded for a page to report.
    else await store.update(sent.id, (current) => ({ ...(current ?? sent), state: 'answered', answer }));
    reports.push({ kind: 'answered', item: sent, answer });
    return 'answered';
  }

  for (const [index, item] of items.entries()) {
    if (tried.has(item.id)) continue;
    const now = options.now();
    if (item.expiresAt <= now) {
      // Past the servers' key retention a replay could act a second time: never sent. A
      // service worker may run with no page open: it keeps the verdict (without the body)
      // for the next page to report, so the give-up is never silent.
      const expire = (current: OutboxItem | undefined): OutboxItem | null | undefined =>
        current?.state !== 'queued' ? undefined : options.settle === 'remove' ? null : { ...current, state: 'expired', headers: [], body: null };
      if ((await store.update(item.id, expire))?.state === 'queued') reports.push({ kind: 'expired', item });
      continue;
    }
    const origin = originOf(item.url);
    if (down.has(origin) || !due(item, now)) continue;
    const outcome = await attempt(item);
    if (outcome === 'answered') up.add(origin);
    if (outcome !== 'unanswered' || up.has(origin)) continue;
    // No answer: the network or the origin may be down, or this request fails by itself (its
    // CORS, its signing, a redirect it refuses). Up to two more requests to the origin tell
    // them apart, so one broken request never holds the others back for ever (nor, with no
    // page open, until they expire unsent), and a pass with the network down costs three
    // attempts per origin, not one per request. The first is the next one held, so a request
    // that got no answer only because the network was down keeps its place once the network
    // is back; the second, tried when the first got none either, is the one due earliest: a
    // request that failed so is pushed back by its backoff, so a run of broken ones is passed in turn.
    for (let probes = 0; ; ) {
      const later = items.slice(index + 1).filter((other) => !tried.has(other.id) && originOf(other.url) === origin && due(other, options.now()));
      const probe = probes === 0 ? later[0] : later.reduce<OutboxItem | undefined>((best, other) => (best && best.nextAttemptAt <= other.nextAttemptAt ? best : other), undefined);
      const probed = probe ? await attempt(probe) : 'unanswered';
      if (probed === 'gone') continue;
      if (probed === 'answered') {
        up.add(origin);
        break;
      }
      probes += 1;
      if (probe === undefined || probes === 2) {
        down.add(origin);
        break;
      }
    }
  }
  return reports;
}

/** Requests to one origin share its reachability; an unparsable URL is its own origin. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

async function judge(item: OutboxItem, answer: StoredAnswer, options: ReplayOptions): Promise<Verdict> {
  const now = options.now();
  let verdict: Verdict;
  try {
    verdict = await (options.classify ?? ((result, at) => defaultClassifier(result, at, options.keyReused)))({ ok: true, value: toResponse(answer) }, now);
  } catch {
    // As the submitter takes an answer whose classifier threw: final, handed to the caller.
    return { kind: 'final', status: answer.status };
  }
  // The submission's rule can only end an item sooner: a throwing `receive` (a hook's on a 503) keeps it.
  if (verdict.kind === 'ambiguous' && (await options.isFinal?.(item.id, toResponse(answer), now).catch(() => false))) return { kind: 'final', status: answer.status };
  return verdict;
}

async function defer(
  store: ReturnType<typeof outboxStore>,
  item: OutboxItem,
  options: ReplayOptions,
  status: number | undefined,
  retryAfterMs: number | undefined,
): Promise<ReplayReport> {
  const nextAttemptAt = options.now() + (retryAfterMs ?? replayDelay(item.attempts, options.backoff, options.random));
  await store.update(item.id, (current) => (current?.state === 'queued' ? { ...current, nextAttemptAt } : undefined));
  return { kind: 'deferred', item: { ...item, nextAttemptAt }, status };
}
