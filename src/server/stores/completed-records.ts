/**
 * Completed records by storage key, kept off the V8 heap: a completed key leaves no
 * object and no string on the JS heap for its whole retention. A store keeps every key it
 * answered for a day by default; in a `Map` each of them (the key, the record, the Map's
 * own table) is what every collection walks and what the old generation's write barriers
 * guard. Here the key's and the record's bytes go into a `ChunkArena`, and an
 * open-addressing index in typed arrays (linear probing, deletion by backward shift) maps
 * a hash of the key to where they are; the expiry sits next to it, so a sweep reads no
 * record.
 *
 * Each entry in the arena: key length u32 (characters) | record length u32 | key width u8
 * (1: latin1, one byte a character; 2: UTF-16LE, any string, lone surrogates included) |
 * the key | the packed record (`packed-record.ts`).
 */
import { getRandomValues } from 'node:crypto';
import { ChunkArena, DEFAULT_CHUNK_BYTES } from './chunk-arena.js';
import { packedSize, unpackCompleted, writeLatin1, writePacked, type CompletedFields } from './packed-record.js';

export interface CompletedRecordsOptions {
  /** Arena chunk size in bytes; a record larger than this gets a chunk of its own. */
  readonly chunkBytes?: number;
  /** The key's hash: a seeded one by default, so that clients cannot choose colliding keys. */
  readonly hash?: (key: string) => number;
}

const HEAD = 9;
/** A slot's chunk word when the slot is free. */
const EMPTY = 0xffff_ffff;
const MIN_SLOTS = 64;
/**
 * The index's slots, 24 bytes each, as 32-bit words: hash | chunk (EMPTY: free) | offset
 * in the chunk | unused | expiry (a f64, read through a `Float64Array` on the same
 * memory at `slot * 3 + 2`). One run of bytes a slot, not an array a field, so that a
 * lookup or an insert in a large table touches one cache line, not four.
 */
const WORDS = 6;
const HASH = 0;
const CHUNK = 1;
const OFFSET = 2;
const EXPIRY = 2;

export class CompletedRecords {
  readonly #arena: ChunkArena;
  readonly #keyHash: (key: string) => number;
  #mask = MIN_SLOTS - 1;
  #slots = freeSlots(MIN_SLOTS);
  #expiries = new Float64Array(this.#slots.buffer);
  #count = 0;

  constructor(options: CompletedRecordsOptions = {}) {
    this.#arena = new ChunkArena(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    this.#keyHash = options.hash ?? seededHash;
  }

  get size(): number {
    return this.#count;
  }

  /** Bytes the arena holds (live or not), for tests of reclaim. */
  get reservedBytes(): number {
    return this.#arena.reservedBytes;
  }

  /** The key's hash in this table: a caller that looks a key up and then stores it passes it to both. */
  hashOf(key: string): number {
    return this.#keyHash(key) >>> 0;
  }

  /** The slot holding `key`, or -1. */
  find(key: string, hash: number = this.hashOf(key)): number {
    const slot = this.#probe(key, hash);
    return this.#slots[slot * WORDS + CHUNK] === EMPTY ? -1 : slot;
  }

  expiresAt(slot: number): number {
    return this.#expiries[slot * 3 + EXPIRY]!;
  }

  read(slot: number): CompletedFields {
    const bytes = this.#arena.bytes(this.#slots[slot * WORDS + CHUNK]!);
    const at = this.#slots[slot * WORDS + OFFSET]!;
    const start = at + HEAD + bytes.readUInt32LE(at) * bytes[at + 8]!;
    return unpackCompleted(bytes, start, start + bytes.readUInt32LE(at + 4));
  }

  get(key: string): CompletedFields | undefined {
    const slot = this.find(key);
    return slot < 0 ? undefined : this.read(slot);
  }

  /** Stores the record under `key` (replacing any); false, storing nothing, when it cannot be packed. */
  set(key: string, record: CompletedFields, hash: number = this.hashOf(key)): boolean {
    const size = packedSize(record);
    if (size < 0) return false;
    // Written as latin1 in the same pass that checks it fits; a key that does not is written again, wide.
    let chunk = this.#write(key, 1, size, record);
    if (chunk === WIDE) chunk = this.#write(key, 2, size, record);
    if (chunk < 0) return false;
    const at = this.#arena.offset;
    if ((this.#count + 1) * 2 > this.#mask + 1) this.#rehash((this.#mask + 1) * 2);
    const slot = this.#probe(key, hash);
    const word = slot * WORDS;
    if (this.#slots[word + CHUNK] === EMPTY) this.#count++;
    else this.#release(slot);
    this.#slots[word + HASH] = hash;
    this.#slots[word + CHUNK] = chunk;
    this.#slots[word + OFFSET] = at;
    this.#expiries[slot * 3 + EXPIRY] = record.expiresAt;
    return true;
  }

  delete(key: string): boolean {
    const slot = this.find(key);
    if (slot < 0) return false;
    this.deleteSlot(slot);
    return true;
  }

  /** Frees the entry in `slot`; the entries after it in its probe run move back to keep runs unbroken. */
  deleteSlot(slot: number): void {
    this.#release(slot);
    this.#count--;
    const mask = this.#mask;
    const slots = this.#slots;
    let hole = slot;
    for (let next = (hole + 1) & mask; slots[next * WORDS + CHUNK] !== EMPTY; next = (next + 1) & mask) {
      const home = slots[next * WORDS + HASH]! & mask;
      // The entry may fill the hole unless its home lies after the hole, within the run.
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        slots.copyWithin(hole * WORDS, next * WORDS, next * WORDS + WORDS);
        hole = next;
      }
    }
    slots[hole * WORDS + CHUNK] = EMPTY;
  }

  /**
   * Drops the records expired at `now` and returns how many; rebuilds the index (smaller
   * once most keys are gone) and moves the records out of sparse chunks, so that the
   * arena's memory follows what is live.
   */
  sweep(now: number): number {
    let expired = 0;
    const slots = this.#slots;
    // Slots emptied without moving the rest back: the rebuild below makes runs whole again.
    for (let slot = 0; slot <= this.#mask; slot++) {
      if (slots[slot * WORDS + CHUNK] === EMPTY || this.#expiries[slot * 3 + EXPIRY]! > now) continue;
      this.#release(slot);
      slots[slot * WORDS + CHUNK] = EMPTY;
      expired++;
    }
    const sparse = this.#arena.sparse();
    if (expired === 0 && !sparse.includes(true)) return 0;
    this.#count -= expired;
    let size = MIN_SLOTS;
    while (size < this.#count * 4) size *= 2;
    this.#rehash(size, sparse);
    return expired;
  }

  clear(): void {
    this.#arena.clear();
    this.#resize(MIN_SLOTS);
    this.#count = 0;
  }

  *entries(): IterableIterator<[string, CompletedFields]> {
    for (let slot = 0; slot <= this.#mask; slot++) {
      const chunk = this.#slots[slot * WORDS + CHUNK]!;
      if (chunk === EMPTY) continue;
      yield [this.#keyAt(chunk, this.#slots[slot * WORDS + OFFSET]!), this.read(slot)];
    }
  }

  /**
   * Writes the entry (its head, the key `width` bytes a character, the packed record) at
   * a new place in the arena and returns its chunk (`#arena.offset` is where); WIDE when
   * a key character does not fit in one byte, -1 when the record cannot be packed.
   */
  #write(key: string, width: 1 | 2, size: number, record: CompletedFields): number {
    const length = key.length;
    const total = HEAD + length * width + size;
    const chunk = this.#arena.alloc(total);
    const at = this.#arena.offset;
    const bytes = this.#arena.bytes(chunk);
    bytes.writeUInt32LE(length, at);
    bytes.writeUInt32LE(size, at + 4);
    bytes[at + 8] = width;
    const start = at + HEAD;
    if (width === 1) {
      if (!writeLatin1(bytes, start, key)) {
        this.#arena.cancel(chunk, total);
        return WIDE;
      }
    } else {
      for (let i = 0; i < length; i++) bytes.writeUInt16LE(key.charCodeAt(i), start + 2 * i);
    }
    if (!writePacked(record, bytes, start + length * width)) {
      this.#arena.cancel(chunk, total);
      return -1;
    }
    return chunk;
  }

  /** Reinserts every entry into `size` slots, moving those in `sparse` chunks to the chunk being filled. */
  #rehash(size: number, sparse: boolean[] = []): void {
    const old = this.#slots;
    const oldExpiries = this.#expiries;
    const oldSize = this.#mask + 1;
    this.#resize(size);
    for (let slot = 0; slot < oldSize; slot++) {
      let chunk = old[slot * WORDS + CHUNK]!;
      if (chunk === EMPTY) continue;
      let at = old[slot * WORDS + OFFSET]!;
      if (sparse[chunk] === true) {
        const entry = this.#entrySize(chunk, at);
        const to = this.#arena.alloc(entry);
        this.#arena.bytes(to).set(this.#arena.bytes(chunk).subarray(at, at + entry), this.#arena.offset);
        this.#arena.release(chunk, entry);
        // Its index may be reused by a chunk allocated later in this loop, which is not sparse.
        if (!this.#arena.has(chunk)) sparse[chunk] = false;
        chunk = to;
        at = this.#arena.offset;
      }
      this.#insert(old[slot * WORDS + HASH]!, chunk, at, oldExpiries[slot * 3 + EXPIRY]!);
    }
  }

  #resize(size: number): void {
    this.#mask = size - 1;
    this.#slots = freeSlots(size);
    this.#expiries = new Float64Array(this.#slots.buffer);
  }

  /** The slot holding `key`, or the empty slot that ends its probe run (where it would go). */
  #probe(key: string, hash: number): number {
    const slots = this.#slots;
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const chunk = slots[slot * WORDS + CHUNK]!;
      if (chunk === EMPTY || (slots[slot * WORDS + HASH] === hash && this.#keyIs(chunk, slots[slot * WORDS + OFFSET]!, key))) return slot;
    }
  }

  #insert(hash: number, chunk: number, at: number, expiresAt: number): void {
    let slot = hash & this.#mask;
    while (this.#slots[slot * WORDS + CHUNK] !== EMPTY) slot = (slot + 1) & this.#mask;
    this.#slots[slot * WORDS + HASH] = hash;
    this.#slots[slot * WORDS + CHUNK] = chunk;
    this.#slots[slot * WORDS + OFFSET] = at;
    this.#expiries[slot * 3 + EXPIRY] = expiresAt;
  }

  #release(slot: number): void {
    const chunk = this.#slots[slot * WORDS + CHUNK]!;
    this.#arena.release(chunk, this.#entrySize(chunk, this.#slots[slot * WORDS + OFFSET]!));
  }

  #entrySize(chunk: number, at: number): number {
    const bytes = this.#arena.bytes(chunk);
    return HEAD + bytes.readUInt32LE(at) * bytes[at + 8]! + bytes.readUInt32LE(at + 4);
  }

  #keyIs(chunk: number, at: number, key: string): boolean {
    const bytes = this.#arena.bytes(chunk);
    const length = key.length;
    if (bytes.readUInt32LE(at) !== length) return false;
    const start = at + HEAD;
    if (bytes[at + 8] === 1) {
      for (let i = 0; i < length; i++) if (bytes[start + i] !== key.charCodeAt(i)) return false;
    } else {
      for (let i = 0; i < length; i++) if (bytes.readUInt16LE(start + 2 * i) !== key.charCodeAt(i)) return false;
    }
    return true;
  }

  #keyAt(chunk: number, at: number): string {
    const bytes = this.#arena.bytes(chunk);
    const width = bytes[at + 8]!;
    const start = at + HEAD;
    return bytes.toString(width === 1 ? 'latin1' : 'utf16le', start, start + bytes.readUInt32LE(at) * width);
  }
}

/** `#write`'s answer for a key that needs two bytes a character. */
const WIDE = -2;

function freeSlots(size: number): Uint32Array {
  const slots = new Uint32Array(size * WORDS);
  for (let word = CHUNK; word < slots.length; word += WORDS) slots[word] = EMPTY;
  return slots;
}

const SEED = getRandomValues(new Uint32Array(1))[0]!;

/**
 * FNV-1a from a per-process seed over the UTF-16 code units two at a time (half the
 * multiplications: this runs for every claim and every completion), then murmur3's
 * finaliser to spread the bits.
 */
function seededHash(key: string): number {
  let hash = SEED ^ key.length;
  const pairs = key.length & ~1;
  for (let i = 0; i < pairs; i += 2) hash = Math.imul(hash ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x01000193);
  if (pairs < key.length) hash = Math.imul(hash ^ key.charCodeAt(pairs), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
