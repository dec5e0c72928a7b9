import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

interface SyncBatch {
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * An append-only file of lines, in the order of the changes. A line that need not be
 * durable (a claim) is in the kernel (`writeSync`, into the page cache) before `append`
 * returns. A durable line (a completion) waits for an `fdatasync` anyway, so it is only
 * kept in memory until the sync is due and written then, in one `writeSync` with the other
 * durable lines of that wait; a line that must be written at once first writes those
 * held before it, in the same call, so the file keeps the order of the changes. Syncs are
 * group commits: one runs at a time on the libuv thread pool, and the durable lines
 * appended in the same event-loop turn, or while it runs, share the next one. Compaction
 * replaces the file with a snapshot (write to a temporary file, fsync, rename, fsync the
 * directory), so a crash at any point leaves either the old or the new file.
 */
export class LineLog {
  #fd: number;
  #lines: number;
  /** A sync is running or due: compaction (which swaps the file) waits for it. */
  #syncing = false;
  /** The sync the lines appended since the running one started wait for. */
  #next: SyncBatch | undefined;
  /** Durable lines (with their newlines) appended but not yet written: written just before the sync they wait for. */
  #held = '';
  #idle: SyncBatch | undefined;
  #compactRequested = false;
  #failure: unknown;
  #closed = false;

  private constructor(
    readonly path: string,
    fd: number,
    lines: number,
    private readonly snapshot: () => string[],
    private readonly liveCount: () => number,
    private readonly compactAfterLines: number,
  ) {
    this.#fd = fd;
    this.#lines = lines;
  }

  /**
   * Reads every intact line (a torn last line from a crash is skipped), hands each to
   * `apply`, then rewrites the file compacted from `snapshot`.
   */
  static open(
    path: string,
    apply: (line: string) => void,
    snapshot: () => string[],
    liveCount: () => number,
    compactAfterLines: number,
  ): LineLog {
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line !== '') apply(line);
      }
    }
    const lines = snapshot();
    writeSnapshotSync(path, lines);
    return new LineLog(path, openSync(path, 'a'), lines.length, snapshot, liveCount, compactAfterLines);
  }

  /** The first write error, if any: the store then fails closed instead of losing writes. */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * Without `durable`, writes one line (no newline) to the kernel before returning, after
   * the durable lines held before it; throws if it cannot. With `durable`, the promise
   * settles once the line is written and an fdatasync has covered it.
   */
  append(line: string, durable: true): Promise<void>;
  append(line: string, durable: false): undefined;
  append(line: string, durable: boolean): Promise<void> | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    this.#lines++;
    if (this.#lines > this.compactAfterLines && this.#lines > 2 * this.liveCount()) this.#compactRequested = true;
    if (durable) {
      this.#held += `${line}\n`;
      const batch = (this.#next ??= newBatch());
      if (!this.#syncing) this.#scheduleSync();
      return batch.done;
    }
    const text = `${this.#held}${line}\n`;
    this.#held = '';
    this.#write(text);
    if (this.#compactRequested && !this.#syncing) this.#compactQuietly();
    return undefined;
  }

  /** Records the first failure: the lines held and every later append fail with it. */
  #write(text: string): void {
    try {
      // A short write only happens when the disk is full or the file too large: failing
      // closed leaves a torn last line, which loading skips.
      if (writeSync(this.#fd, text) !== Buffer.byteLength(text)) throw new Error(`short write to ${this.path}`);
    } catch (error) {
      this.#failure ??= error;
      throw error;
    }
  }

  requestCompaction(): void {
    this.#compactRequested = true;
    if (!this.#syncing && this.#failure === undefined) this.#compactQuietly();
  }

  /** Waits for the syncs under way, then closes the file. */
  async close(): Promise<void> {
    if (this.#syncing) await (this.#idle ??= newBatch()).done.catch(() => undefined);
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  /**
   * The sync starts once the current event-loop turn is done, not at once: the
   * completions the other requests of this turn write then share it, instead of
   * waiting for a sync of their own. A sync is one thread-pool round trip.
   */
  #scheduleSync(): void {
    this.#syncing = true;
    setImmediate(this.#sync);
  }

  readonly #sync = (): void => {
    const batch = this.#next;
    this.#next = undefined;
    if (batch === undefined) return this.#synced();
    if (this.#failure !== undefined) {
      // A line written at once could not be, with the held ones before it: they are lost.
      this.#held = '';
      batch.reject(this.#failure);
      return this.#synced();
    }
    if (this.#compactRequested) {
      // The snapshot is synced: it makes every line written so far durable at once.
      try {
        this.#compact();
        batch.resolve();
      } catch (error) {
        batch.reject(error);
      }
      return this.#synced();
    }
    if (this.#held !== '') {
      const text = this.#held;
      this.#held = '';
      try {
        this.#write(text);
      } catch (error) {
        batch.reject(error);
        return this.#synced();
      }
    }
    fdatasync(this.#fd, (error) => {
      if (error === null) batch.resolve();
      else {
        this.#failure ??= error;
        batch.reject(error);
        this.#next?.reject(error);
        this.#next = undefined;
        this.#held = '';
      }
      if (this.#next !== undefined) return this.#scheduleSync();
      this.#synced();
    });
  };

  /** No sync running nor due: a compaction put off meanwhile runs, and `close` may go on. */
  #synced(): void {
    this.#syncing = false;
    if (this.#compactRequested && this.#failure === undefined) this.#compactQuietly();
    this.#idle?.resolve();
    this.#idle = undefined;
  }

  /**
   * Compaction that no caller waits on: the lines are already written, so a failure is
   * only recorded, and every later append throws it.
   */
  #compactQuietly(): void {
    try {
      this.#compact();
    } catch {
      // Recorded by #compact.
    }
  }

  #compact(): void {
    this.#compactRequested = false;
    try {
      // The snapshot is taken from memory, which already holds every line appended,
      // held ones included: once it is in place they need not be written.
      const lines = this.snapshot();
      writeSnapshotSync(this.path, lines);
      this.#held = '';
      const old = this.#fd;
      this.#fd = openSync(this.path, 'a');
      this.#lines = lines.length;
      closeSync(old);
    } catch (error) {
      this.#failure ??= error;
      throw error;
    }
  }
}

function newBatch(): SyncBatch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { done, resolve, reject };
}

function writeSnapshotSync(path: string, lines: string[]): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, lines.map((line) => `${line}\n`).join(''));
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename itself is only durable once the directory entry is synced.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
