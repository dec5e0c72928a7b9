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
import { packedSize, unpackCompleted, writePacked, type CompletedFields } from './packed-record.js';

export interface CompletedRecordsOptions {
  /** Arena chunk size in bytes; a record larger than this gets a chunk of its own. */
  readonly chunkBytes?: number;
  /** The key's hash: a seeded one by default, so that clients cannot choose colliding keys. */
  readonly hash?: (key: string) => number;
}

const HEAD = 9;
const EMPTY = -1;
const MIN_SLOTS = 64;

export class CompletedRecords {
  readonly #arena: ChunkArena;
  readonly #hashOf: (key: string) => number;
  #mask = MIN_SLOTS - 1;
  #hashes = new Uint32Array(MIN_SLOTS);
  /** The entry's chunk, or EMPTY. */
  #chunks = new Int32Array(MIN_SLOTS).fill(EMPTY);
  #offsets = new Uint32Array(MIN_SLOTS);
  #expiries = new Float64Array(MIN_SLOTS);
  #count = 0;

  constructor(options: CompletedRecordsOptions = {}) {
    this.#arena = new ChunkArena(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    this.#hashOf = options.hash ?? seededHash;
  }

  get size(): number {
    return this.#count;
  }

  /** Bytes the arena holds (live or not), for tests of reclaim. */
  get reservedBytes(): number {
    return this.#arena.reservedBytes;
  }

  /** The slot holding `key`, or -1. */
  find(key: string): number {
    const slot = this.#probe(key, this.#hashOf(key) >>> 0);
    return this.#chunks[slot] === EMPTY ? -1 : slot;
  }

  expiresAt(slot: number): number {
    return this.#expiries[slot]!;
  }

  read(slot: number): CompletedFields {
    const bytes = this.#arena.bytes(this.#chunks[slot]!);
    const at = this.#offsets[slot]!;
    const start = at + HEAD + bytes.readUInt32LE(at) * bytes[at + 8]!;
    return unpackCompleted(bytes, start, start + bytes.readUInt32LE(at + 4));
  }

  get(key: string): CompletedFields | undefined {
    const slot = this.find(key);
    return slot < 0 ? undefined : this.read(slot);
  }

  /** Stores the record under `key` (replacing any); false, storing nothing, when it cannot be packed. */
  set(key: string, record: CompletedFields): boolean {
    const size = packedSize(record);
    if (size < 0) return false;
    const width = isLatin1(key) ? 1 : 2;
    const total = HEAD + key.length * width + size;
    const chunk = this.#arena.alloc(total);
    const at = this.#arena.offset;
    const bytes = this.#arena.bytes(chunk);
    bytes.writeUInt32LE(key.length, at);
    bytes.writeUInt32LE(size, at + 4);
    bytes[at + 8] = width;
    writeKey(bytes, at + HEAD, key, width);
    if (!writePacked(record, bytes, at + HEAD + key.length * width)) {
      this.#arena.cancel(chunk, total);
      return false;
    }
    if ((this.#count + 1) * 2 > this.#hashes.length) this.#rehash(this.#hashes.length * 2);
    const hash = this.#hashOf(key) >>> 0;
    const slot = this.#probe(key, hash);
    if (this.#chunks[slot] === EMPTY) this.#count++;
    else this.#release(slot);
    this.#hashes[slot] = hash;
    this.#chunks[slot] = chunk;
    this.#offsets[slot] = at;
    this.#expiries[slot] = record.expiresAt;
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
    let hole = slot;
    for (let next = (hole + 1) & mask; this.#chunks[next] !== EMPTY; next = (next + 1) & mask) {
      const home = this.#hashes[next]! & mask;
      // The entry may fill the hole unless its home lies after the hole, within the run.
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        this.#hashes[hole] = this.#hashes[next]!;
        this.#chunks[hole] = this.#chunks[next]!;
        this.#offsets[hole] = this.#offsets[next]!;
        this.#expiries[hole] = this.#expiries[next]!;
        hole = next;
      }
    }
    this.#chunks[hole] = EMPTY;
  }

  /**
   * Drops the records expired at `now` and returns how many; rebuilds the index (smaller
   * once most keys are gone) and moves the records out of sparse chunks, so that the
   * arena's memory follows what is live.
   */
  sweep(now: number): number {
    let expired = 0;
    // Slots emptied without moving the rest back: the rebuild below makes runs whole again.
    for (let slot = 0; slot < this.#chunks.length; slot++) {
      if (this.#chunks[slot] === EMPTY || this.#expiries[slot]! > now) continue;
      this.#release(slot);
      this.#chunks[slot] = EMPTY;
      expired++;
    }
    const sparse = this.#arena.sparse();
    if (expired === 0 && !sparse.includes(true)) return 0;
    this.#count -= expired;
    let slots = MIN_SLOTS;
    while (slots < this.#count * 4) slots *= 2;
    this.#rehash(slots, sparse);
    return expired;
  }

  clear(): void {
    this.#arena.clear();
    this.#resize(MIN_SLOTS);
    this.#count = 0;
  }

  *entries(): IterableIterator<[string, CompletedFields]> {
    for (let slot = 0; slot < this.#chunks.length; slot++) {
      const chunk = this.#chunks[slot]!;
      if (chunk === EMPTY) continue;
      yield [this.#keyAt(chunk, this.#offsets[slot]!), this.read(slot)];
    }
  }

  /** Reinserts every entry into `slots` slots, moving those in `sparse` chunks to the chunk being filled. */
  #rehash(slots: number, sparse: boolean[] = []): void {
    const hashes = this.#hashes;
    const chunks = this.#chunks;
    const offsets = this.#offsets;
    const expiries = this.#expiries;
    this.#resize(slots);
    for (let slot = 0; slot < chunks.length; slot++) {
      let chunk = chunks[slot]!;
      if (chunk === EMPTY) continue;
      let at = offsets[slot]!;
      if (sparse[chunk] === true) {
        const size = this.#entrySize(chunk, at);
        const to = this.#arena.alloc(size);
        this.#arena.bytes(to).set(this.#arena.bytes(chunk).subarray(at, at + size), this.#arena.offset);
        this.#arena.release(chunk, size);
        // Its index may be reused by a chunk allocated later in this loop, which is not sparse.
        if (!this.#arena.has(chunk)) sparse[chunk] = false;
        chunk = to;
        at = this.#arena.offset;
      }
      this.#insert(hashes[slot]!, chunk, at, expiries[slot]!);
    }
  }

  #resize(slots: number): void {
    this.#mask = slots - 1;
    this.#hashes = new Uint32Array(slots);
    this.#chunks = new Int32Array(slots).fill(EMPTY);
    this.#offsets = new Uint32Array(slots);
    this.#expiries = new Float64Array(slots);
  }

  /** The slot holding `key`, or the empty slot that ends its probe run (where it would go). */
  #probe(key: string, hash: number): number {
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const chunk = this.#chunks[slot]!;
      if (chunk === EMPTY || (this.#hashes[slot] === hash && this.#keyIs(chunk, this.#offsets[slot]!, key))) return slot;
    }
  }

  #insert(hash: number, chunk: number, at: number, expiresAt: number): void {
    let slot = hash & this.#mask;
    while (this.#chunks[slot] !== EMPTY) slot = (slot + 1) & this.#mask;
    this.#hashes[slot] = hash;
    this.#chunks[slot] = chunk;
    this.#offsets[slot] = at;
    this.#expiries[slot] = expiresAt;
  }

  #release(slot: number): void {
    const chunk = this.#chunks[slot]!;
    this.#arena.release(chunk, this.#entrySize(chunk, this.#offsets[slot]!));
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

function isLatin1(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return false;
  return true;
}

function writeKey(bytes: Buffer, at: number, key: string, width: number): void {
  if (width === 1) for (let i = 0; i < key.length; i++) bytes[at + i] = key.charCodeAt(i);
  else for (let i = 0; i < key.length; i++) bytes.writeUInt16LE(key.charCodeAt(i), at + 2 * i);
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
