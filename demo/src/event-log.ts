/** The SDK's events as the page shows them: a small external store for useSyncExternalStore. */
import type { SubmitEvent } from '../../src/index.js';
import type { OutboxEvent } from '../../src/outbox/index.js';

export interface LogEntry {
  readonly id: number;
  readonly at: number;
  readonly text: string;
  readonly key: string | undefined;
  readonly tone: 'info' | 'good' | 'warn' | 'bad';
  /** The same line this many times in a row (20 clicks in one tick make one line, ×19). */
  readonly count: number;
}

const LIMIT = 60;
let entries: readonly LogEntry[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function push(entry: Omit<LogEntry, 'id' | 'at' | 'count'>, coalesce = false): void {
  const newest = entries[0];
  if (coalesce && newest !== undefined && newest.text === entry.text && newest.key === entry.key) {
    entries = [{ ...newest, at: Date.now(), count: newest.count + 1 }, ...entries.slice(1)];
  } else {
    entries = [{ ...entry, id: nextId++, at: Date.now(), count: 1 }, ...entries].slice(0, LIMIT);
  }
  for (const listener of listeners) listener();
}

export const eventLog = {
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  snapshot: (): readonly LogEntry[] => entries,
  /** A line of the page's own; `coalesce` folds a repeat of the newest line into a count. */
  note(text: string, tone: LogEntry['tone'] = 'info', { coalesce = false }: { coalesce?: boolean } = {}): void {
    push({ text, tone, key: undefined }, coalesce);
  },
  clear(): void {
    entries = [];
    for (const listener of listeners) listener();
  },
  /** The outbox's `onEvent` listener: what becomes of an order kept while offline. */
  outbox(event: OutboxEvent): void {
    push({ ...describeOutbox(event), key: event.item.key });
  },
  /** The `onEvent` listener handed to submit-once. */
  record(event: SubmitEvent): void {
    const described = describe(event);
    if (described) push({ ...described, key: 'key' in event ? event.key : undefined });
  },
};

function describe(event: SubmitEvent): Omit<LogEntry, 'id' | 'at' | 'key' | 'count'> | undefined {
  switch (event.type) {
    case 'key-created':
      return { text: 'new intent: key minted and saved before sending', tone: 'info' };
    case 'key-reused':
      return { text: `same intent: key reused (from ${event.source === 'store' ? 'IndexedDB' : 'the caller'})`, tone: 'good' };
    case 'joined':
      return { text: 'same intent already in flight: joined it, nothing sent', tone: 'good' };
    case 'attempt':
      return { text: `attempt ${event.attempt} sent`, tone: 'info' };
    case 'retry':
      return {
        text: `attempt ${event.attempt} ${event.status ? `answered ${event.status}` : 'failed (no response)'}: retrying in ${event.delayMs} ms with the same key`,
        tone: 'warn',
      };
    case 'replayed':
      return { text: `server replayed the stored response${event.status ? ` (${event.status})` : ''}: not run twice`, tone: 'good' };
    case 'settled':
      return {
        text: `settled: ${event.outcome} after ${event.attempts} attempt${event.attempts === 1 ? '' : 's'}${event.status ? ` (${event.status})` : ''}`,
        tone: event.outcome === 'success' ? 'good' : event.outcome === 'ambiguous' ? 'warn' : 'bad',
      };
    case 'queued':
      return { text: 'offline: order kept in the outbox (IndexedDB) with its key', tone: 'warn' };
    case 'storage-degraded':
      return { text: `IndexedDB unavailable (${event.operation}): keys kept in memory`, tone: 'warn' };
    default:
      return undefined;
  }
}

function describeOutbox(event: OutboxEvent): Omit<LogEntry, 'id' | 'at' | 'key' | 'count'> {
  switch (event.type) {
    case 'queued':
      return { text: 'outbox: waiting for the connection; it will be sent with this same key', tone: 'info' };
    case 'deferred':
      return { text: `outbox: replay ${event.status ? `answered ${event.status}` : 'got no response'}: kept, tried again later`, tone: 'warn' };
    case 'replayed':
      return { text: `outbox: sent with the same key, the server answered ${event.status}`, tone: event.status < 400 ? 'good' : 'bad' };
    case 'given-up':
      return { text: `outbox: given up (${event.reason}), not sent again`, tone: 'bad' };
  }
}
