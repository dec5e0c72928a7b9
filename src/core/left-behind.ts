/**
 * Settle writes a page leaves behind. A key is retired in IndexedDB a moment after its
 * answer (`WRITE_DELAY`), and a page that goes on at once (`location.href = '/thanks'`)
 * takes that write with it: IndexedDB's transactions die with the page, also when started
 * from `pagehide`. The key then stays pending for its TTL, and the same cart ordered again
 * goes out under it: the server replays the first order instead of placing the second.
 * `localStorage` is written synchronously, so on `pagehide` the unwritten settles go
 * there, and the next engine on the origin applies them to the store.
 */

/** An intent's fingerprint, its key, and when its answer came. */
export type LeftSettle = [fingerprint: string, key: string, at: number];

const ITEM = 'submit-once:settled';

/** Engines' settles not yet committed; an engine is here only while it has some. */
const sources = new Set<() => LeftSettle[]>();

/**
 * The entries stored, then `change` made to them and stored; nothing where storage is
 * blocked (sandboxed frames, cookies off), full or holds something else: the write is
 * lost then, as before, and the key reused once more (the server replays).
 */
function update(change: (entries: LeftSettle[]) => LeftSettle[]): LeftSettle[] {
  try {
    const stored = localStorage.getItem(ITEM);
    const entries = change(JSON.parse(stored ?? '[]') as LeftSettle[]);
    const text = JSON.stringify(entries);
    if (text !== (stored ?? '[]')) entries.length > 0 ? localStorage.setItem(ITEM, text) : localStorage.removeItem(ITEM);
    return entries;
  } catch {
    return [];
  }
}

/** `source` gives this engine's unwritten settles when the page is left, until `untrack`. */
export function track(source: () => LeftSettle[]): void {
  if (sources.size === 0 && typeof addEventListener === 'function') addEventListener('pagehide', onPageHide);
  sources.add(source);
}

export function untrack(source: () => LeftSettle[]): void {
  sources.delete(source);
}

function onPageHide(): void {
  update((entries) => entries.concat(...[...sources].map((source) => source())));
}

/** The settles earlier pages left behind, newer than `since`. */
export function leftBehind(since: number): LeftSettle[] {
  return update((entries) => entries.filter((entry) => entry[2] > since));
}

/** Drops an entry once its settle is in the store. */
export function forget(fingerprint: string, key: string): void {
  update((entries) => entries.filter(([fp, k]) => fp !== fingerprint || k !== key));
}
