/**
 * Append-only byte storage in large chunks, outside the V8 heap. Each chunk is one
 * `Buffer`: however many records it holds, the garbage collector sees one object. Space is
 * never freed record by record; a chunk counts its live records and bytes, and is dropped
 * once none is left, so records that expire together (they were written together, with
 * the same retention) give their memory back together. A chunk that a few long-lived
 * records keep mostly empty is reported `sparse`, for its owner to move them out.
 */

interface Chunk {
  readonly bytes: Buffer;
  used: number;
  live: number;
  liveBytes: number;
}

/** The default chunk size: large enough that chunks are few, small enough to drop often. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

export class ChunkArena {
  readonly #chunkBytes: number;
  readonly #chunks: Array<Chunk | undefined> = [];
  /** Indexes of dropped chunks, reused so that chunk numbers stay small. */
  readonly #vacant: number[] = [];
  #current = -1;
  /** Where the last `alloc` put its bytes, in the chunk it returned. */
  offset = 0;

  constructor(chunkBytes: number = DEFAULT_CHUNK_BYTES) {
    this.#chunkBytes = chunkBytes;
  }

  /**
   * Room for `size` bytes: returns the chunk and sets `offset` (two numbers without an
   * object per call). The bytes count as live until `release`. A size over the chunk
   * size gets a chunk of its own, dropped when that one record is released.
   */
  alloc(size: number): number {
    if (size > this.#chunkBytes) {
      const own = this.#add(size);
      this.#take(own, size);
      return own;
    }
    const current = this.#current < 0 ? undefined : this.#chunks[this.#current];
    // The chunk it replaces has live records (an emptied current chunk is rewound, and
    // then has room): their releases drop it.
    if (current === undefined || current.used + size > current.bytes.length) this.#current = this.#add(this.#chunkBytes);
    this.#take(this.#current, size);
    return this.#current;
  }

  bytes(chunk: number): Buffer {
    return this.#chunks[chunk]!.bytes;
  }

  /** `size` bytes of `chunk` are no longer needed; an emptied chunk is dropped (the current one is rewound). */
  release(chunk: number, size: number): void {
    const held = this.#chunks[chunk]!;
    held.live--;
    held.liveBytes -= size;
    if (held.live > 0) return;
    if (chunk === this.#current) held.used = 0;
    else this.#drop(chunk);
  }

  /** Takes back the last `alloc`, whose bytes were not kept, so that they are not lost until the chunk drops. */
  cancel(chunk: number, size: number): void {
    if (chunk === this.#current) this.#chunks[chunk]!.used -= size;
    this.release(chunk, size);
  }

  has(chunk: number): boolean {
    return this.#chunks[chunk] !== undefined;
  }

  /** Chunks, other than the one being filled, whose live bytes are under a quarter of their size. */
  sparse(): boolean[] {
    return this.#chunks.map((held, index) => held !== undefined && index !== this.#current && held.liveBytes * 4 < held.bytes.length);
  }

  /** Bytes held in chunks, live or not: what the arena costs the process. */
  get reservedBytes(): number {
    let total = 0;
    for (const held of this.#chunks) total += held?.bytes.length ?? 0;
    return total;
  }

  get chunkCount(): number {
    return this.#chunks.length - this.#vacant.length;
  }

  clear(): void {
    this.#chunks.length = 0;
    this.#vacant.length = 0;
    this.#current = -1;
  }

  #take(chunk: number, size: number): void {
    const held = this.#chunks[chunk]!;
    this.offset = held.used;
    held.used += size;
    held.live++;
    held.liveBytes += size;
  }

  #add(size: number): number {
    // Not from Buffer's shared pool: a chunk is dropped alone, and its memory with it.
    const held: Chunk = { bytes: Buffer.allocUnsafeSlow(size), used: 0, live: 0, liveBytes: 0 };
    const index = this.#vacant.pop() ?? this.#chunks.length;
    this.#chunks[index] = held;
    return index;
  }

  #drop(chunk: number): void {
    this.#chunks[chunk] = undefined;
    this.#vacant.push(chunk);
  }
}
