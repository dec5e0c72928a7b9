/**
 * Tabs of one origin coordinating on one intent without a lock per submission: the claim
 * record names the engine whose attempt is in flight (`<tab id>.<n>`); a tab that finds
 * another's live claim asks for its outcome over a BroadcastChannel and waits. Liveness
 * costs nothing per submission: each tab holds a Web Lock named for its id for its whole
 * life, and only a waiting tab requests it, which the browser grants once the owner is gone.
 * A tab that is there but runs no script (frozen by the browser, which may never resume it)
 * keeps its lock: the waiter asks again every `PING` ms, and takes the claim over, with the
 * same key, when the owner stopped saying it is still at work.
 */
import { newKey } from './key.js';
import type { LockManagerLike } from './options.js';

/**
 * What crosses the channel, as tuples (the bundle is size-budgeted): a question to an
 * owner, `['ask', key, owner]`; its answers to every waiter: `['wait', key]` at once (still
 * at work), then `['done', key, data]` (the adapter's encoding of its final result) or
 * `['free', key]` (nothing to share: ambiguous, an error, a key it does not know), after
 * which a waiter sends itself, with the same key.
 */
type Message = ['ask', string, string] | ['wait', string] | ['done', string, unknown] | ['free', string];

/**
 * How often (ms) a waiting tab asks the owner again. An owner that said nothing since the
 * last ask ran no task for it (frozen, or its main thread that busy): its claim is taken
 * over. A takeover sends the same key, so at worst the server answers "in progress" or
 * replays. The waiter's timers, not the owner's: a background tab's timers are throttled
 * (to once a minute after five minutes hidden), its messages are not.
 */
const PING = 1000;

const lockName = (tab: string) => `submit-once:tab:${tab}`;

/** The page's identity: one id and one lifetime lock per page, whatever the number of engines. */
interface Page {
  id: string;
  held?: true;
  /** Settles once the lifetime lock is held (or could not be had). */
  ready: Promise<void>;
  engines: number;
}
let page: Page | undefined;

export interface CrossTab {
  /**
   * This engine's owner id, to record in a claim; undefined until the tab's lock is held,
   * so no record names an owner that other tabs could not see alive.
   */
  owner(): string | undefined;
  /**
   * Settles once `owner()` can name this engine (or never will): a claim made before that
   * would name no owner, and a second tab would send too instead of waiting.
   */
  ready: Promise<void>;
  /**
   * Waits for the answer of the engine owning `key`: `{ data }` when it shared one, or
   * `undefined` when it let go or is gone (the caller then takes the claim over).
   */
  wait(owner: string, key: string, signal: AbortSignal | undefined): Promise<{ data: unknown } | undefined>;
}

/**
 * Coordination for one engine, or undefined where there is no BroadcastChannel or no Web
 * Locks (plain http, old browsers): tabs then send with the same key and the server replays.
 * `answer(key)` gives this engine's shareable outcome for `key` (undefined: none).
 */
export function crossTab(locks: LockManagerLike | undefined, answer: (key: string) => Promise<unknown>): CrossTab | undefined {
  if (!locks || typeof BroadcastChannel !== 'function') return undefined;
  if (!page) {
    let held!: () => void;
    const identity: Page = (page = { id: newKey(), engines: 0, ready: new Promise<void>((resolve) => (held = resolve)) });
    // Never released: the browser frees it when the page goes (closed, crashed, reloaded).
    locks
      .request(lockName(identity.id), {}, () => {
        identity.held = true;
        held();
        return new Promise<never>(() => undefined);
      })
      .catch(() => held());
  }
  const identity = page;
  // `<tab id>.<n>`: the tab id is a UUID (no dot), so a waiter splits at the dot.
  const me = `${identity.id}.${(identity.engines += 1)}`;
  // One channel per engine: a channel does not hear its own messages, engines of one page do.
  const channel = new BroadcastChannel('submit-once');
  // Node keeps its event loop alive for an open channel; a page does not care.
  (channel as { unref?: () => void }).unref?.();
  const waiters = new Set<(message: Message) => void>();
  /** Keys whose answer is on its way: asked again, the owner only says it is still at work. */
  const answering = new Set<string>();
  channel.onmessage = ({ data }: MessageEvent<Message>) => {
    const [kind, key, owner] = data;
    if (kind !== 'ask') return waiters.forEach((waiter) => waiter(data));
    if (owner !== me) return;
    channel.postMessage(['wait', key]);
    if (answering.has(key)) return;
    answering.add(key);
    const free = () => channel.postMessage(['free', key]);
    answer(key).finally(() => answering.delete(key)).then((shared) => {
      try {
        channel.postMessage(shared === undefined ? ['free', key] : ['done', key, shared]);
      } catch {
        // Not structured-cloneable (a stream): the waiter sends itself, with the same key.
        free();
      }
    }, free);
  };

  return {
    owner: () => (identity.held ? me : undefined),
    ready: identity.ready,
    wait: (owner, key, signal) =>
      new Promise((resolve, reject) => {
        const stop = new AbortController();
        let heard = true;
        const ask = () => {
          // Silent since the last ask: frozen or gone. Its claim is taken over, same key.
          if (!heard) return finish();
          heard = false;
          channel.postMessage(['ask', key, owner]);
        };
        const pinging = setInterval(ask, PING);
        const finish = (message?: Message) => {
          stop.abort();
          clearInterval(pinging);
          waiters.delete(waiter);
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) reject(signal.reason);
          else resolve(message?.[0] === 'done' ? { data: message[2] } : undefined);
        };
        const waiter = (message: Message) => message[1] === key && (message[0] === 'wait' ? (heard = true) : finish(message));
        const onAbort = () => finish();
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort);
        waiters.add(waiter);
        ask();
        // Granted at once if the owner's tab is gone, else the moment it goes.
        locks.request(lockName(owner.split('.')[0]!), { signal: stop.signal }, async () => finish()).catch(() => undefined);
      }),
  };
}
