import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { close, fdatasync, open, write } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const writeAsync = promisify(write) as (fd: number, data: string) => Promise<unknown>;
const fdatasyncAsync = promisify(fdatasync);
const openAsync = promisify(open);
const closeAsync = promisify(close);

/**
 * An append-only file of JSON lines with group commit: lines queued while a write is in
 * flight go out together, with one fdatasync when any of them asked for durability.
 * Compaction replaces the file with a snapshot (write to a temporary file, fsync, rename,
 * fsync the directory), so a crash at any point leaves either the old or the new file.
 */
export class JsonLinesLog {
  #fd: number;
  #lines: number;
  #pending: string[] = [];
  #durable = false;
  #waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #draining: Promise<void> | undefined;
  #compactRequested = false;
  #failure: unknown;

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
    apply: (entry: unknown) => void,
    snapshot: () => string[],
    liveCount: () => number,
    compactAfterLines: number,
  ): JsonLinesLog {
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line === '') continue;
        let entry: unknown;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        apply(entry);
      }
    }
    const lines = snapshot();
    writeSnapshotSync(path, lines);
    return new JsonLinesLog(path, openSync(path, 'a'), lines.length, snapshot, liveCount, compactAfterLines);
  }

  /** The first write error, if any: the store then fails closed instead of losing writes. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Queues one entry; the promise settles once it is written (and synced when `durable`). */
  append(entry: unknown, durable: boolean): Promise<void> {
    this.#pending.push(`${JSON.stringify(entry)}\n`);
    this.#durable ||= durable;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#drain();
    return done;
  }

  requestCompaction(): void {
    this.#compactRequested = true;
    this.#drain();
  }

  async close(): Promise<void> {
    await this.#draining;
    await closeAsync(this.#fd).catch(() => undefined);
  }

  #drain(): void {
    this.#draining ??= this.#loop().finally(() => {
      this.#draining = undefined;
    });
  }

  async #loop(): Promise<void> {
    while (this.#pending.length > 0 || this.#compactRequested) {
      const lines = this.#pending;
      const waiters = this.#waiters;
      const durable = this.#durable;
      this.#pending = [];
      this.#waiters = [];
      this.#durable = false;
      try {
        if (this.#failure !== undefined) throw this.#failure;
        this.#lines += lines.length;
        if (this.#compactRequested || (this.#lines > this.compactAfterLines && this.#lines > 2 * this.liveCount())) {
          // The snapshot is taken from memory, which already holds every queued change.
          this.#compactRequested = false;
          await this.#compact();
        } else {
          await writeAsync(this.#fd, lines.join(''));
          if (durable) await fdatasyncAsync(this.#fd);
        }
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        this.#failure ??= error;
        this.#compactRequested = false;
        for (const waiter of waiters) waiter.reject(error);
      }
    }
  }

  async #compact(): Promise<void> {
    const lines = this.snapshot();
    writeSnapshotSync(this.path, lines);
    const old = this.#fd;
    this.#fd = await openAsync(this.path, 'a');
    this.#lines = lines.length;
    await closeAsync(old);
  }
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
