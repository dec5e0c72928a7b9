/**
 * The text of the audit's run-once keys, off the V8 heap: one fixed-width latin1 slot per
 * place in the audit's ring, found through a Map from the key's 30-bit hash (a small
 * integer, so the Map holds no string). A storage key kept as a string lived for the
 * audit's whole window: every request's key was copied by the scavenger and promoted,
 * then swept from the old generation ten thousand requests later.
 *
 * A key that does not fit (longer than `KEY_WIDTH`, or a character past latin1) or whose
 * hash another kept key already has is not kept here: the audit keeps it as a string, as
 * before. So a lookup here is exact: a hash hit is compared byte for byte.
 */

/** Bytes a place keeps for its key: the bench's storage keys are about 62. */
export const KEY_WIDTH = 96;
const PAGE_PLACES = 1024;
const NOT_KEPT = -1;

export class RunOnceKeys {
  readonly #byHash = new Map<number, number>();
  /** Per place: its key's hash and length while kept here, else `NOT_KEPT` as the length. */
  readonly #hashes: number[] = [];
  readonly #lengths: number[] = [];
  readonly #pages: Buffer[] = [];

  /** The key's hash, or -1 when it cannot be kept here (too long, or past latin1). */
  hashOf(key: string): number {
    const length = key.length;
    if (length > KEY_WIDTH) return -1;
    let hash = 0x811c9dc5;
    let wide = 0;
    for (let i = 0; i < length; i++) {
      const code = key.charCodeAt(i);
      wide |= code;
      hash = Math.imul(hash ^ code, 0x01000193);
    }
    return wide > 0xff ? -1 : hash & 0x3fff_ffff;
  }

  /** The place that keeps `key` (its `hash` from `hashOf`), or -1. */
  find(key: string, hash: number): number {
    if (hash < 0) return -1;
    const place = this.#byHash.get(hash);
    return place !== undefined && this.#keyIs(place, key) ? place : -1;
  }

  /** Keeps `key` at `place` when it fits and its hash is free; false when the caller must keep it. */
  add(place: number, key: string, hash: number): boolean {
    if (hash < 0 || this.#byHash.has(hash)) {
      this.#setLength(place, NOT_KEPT);
      return false;
    }
    const page = this.#page(place);
    // `hashOf` checked that every character fits in one byte: one native copy, not a loop
    // of a store a character (about 60 of them a request).
    page.write(key, (place % PAGE_PLACES) * KEY_WIDTH, 'latin1');
    this.#byHash.set(hash, place);
    this.#hashes[place] = hash;
    this.#setLength(place, key.length);
    return true;
  }

  /** True when `place` keeps a key here. */
  keeps(place: number): boolean {
    return place < this.#lengths.length && this.#lengths[place]! !== NOT_KEPT;
  }

  /** The key kept at `place` (check `keeps` first). */
  keyAt(place: number): string {
    const at = (place % PAGE_PLACES) * KEY_WIDTH;
    return this.#pages[Math.floor(place / PAGE_PLACES)]!.toString('latin1', at, at + this.#lengths[place]!);
  }

  /** Forgets the key at `place`, if it keeps one. */
  drop(place: number): void {
    if (!this.keeps(place)) return;
    this.#byHash.delete(this.#hashes[place]!);
    this.#lengths[place] = NOT_KEPT;
  }

  clear(): void {
    this.#byHash.clear();
    this.#hashes.length = 0;
    this.#lengths.length = 0;
    this.#pages.length = 0;
  }

  #keyIs(place: number, key: string): boolean {
    const length = this.#lengths[place]!;
    if (length !== key.length) return false;
    const page = this.#pages[Math.floor(place / PAGE_PLACES)]!;
    const at = (place % PAGE_PLACES) * KEY_WIDTH;
    for (let i = 0; i < length; i++) if (page[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Places the audit kept elsewhere are never set here: the arrays are filled up to `place` without holes. */
  #setLength(place: number, length: number): void {
    while (this.#lengths.length <= place) {
      this.#lengths.push(NOT_KEPT);
      this.#hashes.push(0);
    }
    this.#lengths[place] = length;
  }

  #page(place: number): Buffer {
    const index = Math.floor(place / PAGE_PLACES);
    // Outside Node's shared pool: a page lives as long as the audit.
    return (this.#pages[index] ??= Buffer.allocUnsafeSlow(PAGE_PLACES * KEY_WIDTH));
  }
}
