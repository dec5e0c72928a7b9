import { closeSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { acquireFileLock, type FileLock } from './file-lock.js';

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
 *
 * The file is kept zero-filled ahead of the last line (`preallocateBytes` at a time) and
 * lines are written at their offset into those zeros: a sync that does not change the
 * file's size flushes only the data, where one after an append also commits the file
 * system's journal (ext4 on this project's VM: about 35-40 against 55-60 µs of system
 * CPU a sync). Loading ends the log at its first NUL byte: no line holds one (JSON
 * escapes control characters, UTF-8 never encodes another character with a zero byte),
 * and every byte before the last completed sync is on disk (fdatasync flushes the whole
 * file), so what a NUL cuts off was never synced: a torn line, or lines after a hole a
 * power loss left in the unsynced tail.
 */
export class LineLog {
  #fd: number;
  #lines: number;
  /** Where the next line goes: the end of the log, before the zeros. */
  #position: number;
  /** The file's size: zeros from `#position` up to it. */
  #end: number;
  /** Zeros are added when the lines reach `#end`; not after a full disk refused them, until the file is rewritten. */
  #grow: boolean;
  /** A sync is running or due: compaction (which swaps the file) waits for it. */
  #syncing = false;
  /** The sync the lines appended since the running one started wait for. */
  #next: SyncBatch | undefined;
  /** Durable lines (with their newlines) appended but not yet written: written just before the sync they wait for. */
  #held = '';
  #idle: SyncBatch | undefined;
  #compactRequested = false;
  #failure: unknown;
  /** A failure `reopen` cannot get past: anything but a full disk or quota, or any failed sync of the log. */
  #fatal = false;
  #closed = false;

  private constructor(
    readonly path: string,
    private readonly lock: FileLock,
    fd: number,
    lines: number,
    private readonly snapshot: () => Iterable<string>,
    private readonly liveCount: () => number,
    private readonly compactAfterLines: number,
    private readonly preallocateBytes: number,
    written: Written,
  ) {
    this.#fd = fd;
    this.#lines = lines;
    this.#position = written.position;
    this.#end = written.end;
    this.#grow = preallocateBytes > 0;
  }

  /**
   * Takes the file's lock (or throws `StoreLockedError`) before anything else: a second
   * writer's compaction would rename the file under the first. Then reads every intact
   * line up to the first NUL byte (a torn last line from a crash is skipped), hands each
   * to `apply`, and rewrites the file compacted from `snapshot`, `preallocateBytes` of
   * zeros after it (0: none, every line extends the file).
   */
  static open(
    path: string,
    apply: (line: string) => void,
    snapshot: () => Iterable<string>,
    liveCount: () => number,
    compactAfterLines: number,
    preallocateBytes: number,
  ): LineLog {
    const lock = acquireFileLock(path);
    try {
      readLines(path, apply);
      const written = writeSnapshotSync(path, snapshot(), preallocateBytes);
      // Not 'a': with O_APPEND, Linux ignores the offset of a positional write.
      const fd = openSync(path, 'r+');
      return new LineLog(path, lock, fd, written.lines, snapshot, liveCount, compactAfterLines, preallocateBytes, written);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** The first write error, if any: the store then fails closed instead of losing writes. */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * The failure came from a full disk (or quota) when writing: `reopen` may get past it.
   * Not after a failed fdatasync: Linux marks the pages it could not write back clean, so
   * once evicted they read back from the disk without their lines, and a reread could miss
   * a claim whose handler ran (its key free for a second run).
   */
  get recoverable(): boolean {
    return this.#failure !== undefined && !this.#fatal;
  }

  /**
   * `recoverable`, and no sync running or due: the lines its batch waits for went with the
   * failed write, and a sync after the reopen would resolve that batch all the same.
   */
  get reopenable(): boolean {
    return this.recoverable && !this.#syncing;
  }

  /**
   * After a failure `reopenable` allows: what a restart does, under the lock already held.
   * Reads the file again (`apply` each line; a line the failure tore is skipped), calls
   * `loaded` (the caller swaps in the memory it rebuilt from those lines), then rewrites
   * the file compacted from `snapshot` and appends to that. The rewrite is what clears the
   * failure: it drops a torn line (the next one would be glued onto it), and its sync makes
   * every line in memory durable. Throws, still failed, if it cannot.
   */
  reopen(apply: (line: string) => void, loaded: () => void): void {
    if (!this.reopenable) throw this.#failure;
    let length: number;
    try {
      // Not past the lines written before the failure: what the failed write left after
      // them (held completions never acknowledged, a refused claim that may lack only its
      // newline, which the loader would take as whole) never counts.
      length = readLines(this.path, apply, this.#position);
    } catch (error) {
      this.#fail(error);
      throw error;
    }
    if (length < this.#position) {
      // Lines written before the failure read back as zeros or past the end: the kernel
      // dropped pages whose write back failed (NFS or a thin pool report that with a later
      // write, not only with a sync), so a running claim could be missing and its key free.
      // (Also when a compaction's rename went through but its directory sync failed: the
      // shorter copy is in place; a restart reads it.)
      this.#fatal = true;
      throw new Error(`${this.path} reads back ${length} bytes of the ${this.#position} written to it`);
    }
    loaded();
    this.#compact();
    this.#failure = undefined;
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
    if (this.#isLarge()) this.#compactRequested = true;
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

  /**
   * Writes at the end of the log, into the zeros, first adding `preallocateBytes` of
   * zeros past the file's end if the text does not fit (a page-cache write on the event
   * loop, about once a MiB of lines; the next sync flushes them and the new size, and the
   * syncs after it change no metadata). Records the first failure: the lines held and
   * every later append fail with it, until `reopen`.
   */
  #write(text: string): void {
    try {
      const bytes = Buffer.byteLength(text);
      const end = this.#position + bytes;
      if (end > this.#end && this.#grow) {
        // Zeros first: a process killed in between leaves the log and zeros after it.
        const grown = end + this.preallocateBytes;
        try {
          writeZerosSync(this.#fd, this.path, this.#end, grown);
          this.#end = grown;
        } catch (error) {
          if (!isDiskFull(error)) throw error;
          // The zeros only save syncs some work: the line may still fit, extending the file.
          this.#grow = false;
        }
      }
      // Failing closed may leave a torn last line, which loading skips.
      writeAllSync(this.#fd, text, bytes, this.#position, this.path);
      this.#position = end;
      if (end > this.#end) this.#end = end;
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  /** `fromSync`: a failed fdatasync of the log, never reopened (see `reopenable`). */
  #fail(error: unknown, fromSync = false): void {
    this.#failure ??= error;
    if (fromSync || !isDiskFull(error)) this.#fatal = true;
  }

  /**
   * After a sweep: compacts by the rule appends follow, so an idle file shrinks once most
   * of its records are gone. Not at every sweep that drops something: with a day's
   * retention swept every minute, that rewrote and synced the whole file, on the event
   * loop, every minute, to drop a 1440th of it.
   */
  compactIfLarge(): void {
    if (!this.#isLarge()) return;
    this.#compactRequested = true;
    if (!this.#syncing && this.#failure === undefined) this.#compactQuietly();
  }

  /** More lines than `compactAfterLines` and than twice the live records. */
  #isLarge(): boolean {
    return this.#lines > this.compactAfterLines && this.#lines > 2 * this.liveCount();
  }

  /** Waits for the syncs under way, then closes the file and releases its lock. */
  async close(): Promise<void> {
    if (this.#syncing) await (this.#idle ??= newBatch()).done.catch(() => undefined);
    if (this.#closed) return;
    this.#closed = true;
    this.#fatal = true;
    // Every later append fails: the kernel hands this descriptor's number to the next file
    // opened, and a line written through it would land in that file (another store's log).
    this.#failure ??= new Error(`${this.path} is closed`);
    try {
      closeSync(this.#fd);
    } finally {
      this.lock.release();
    }
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
        this.#fail(error, true);
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
      const written = writeSnapshotSync(this.path, this.snapshot(), this.preallocateBytes);
      this.#held = '';
      const old = this.#fd;
      this.#fd = openSync(this.path, 'r+');
      this.#lines = written.lines;
      this.#position = written.position;
      this.#end = written.end;
      this.#grow = this.preallocateBytes > 0;
      closeSync(old);
    } catch (error) {
      this.#fail(error);
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

/** Where a new log file's lines end, its size (zeros in between), and how many lines it holds. */
interface Written {
  readonly position: number;
  readonly end: number;
  readonly lines: number;
}

/**
 * Text is read and written this many bytes at a time: a log, or a snapshot, can be
 * larger than the longest string V8 makes (0x1fffffe8 characters, about 512 MiB), which
 * a day of a busy service's completed keys reaches; read or joined whole, the file could
 * not be loaded, so the process could not start again, nor compacted.
 */
const IO_CHUNK = 1024 * 1024;

/**
 * Hands `apply` every line up to the first NUL byte (none: a file written before
 * preallocation, all of it is the log), a chunk at a time, and returns their length in
 * bytes. A line is cut at newline bytes before it is decoded: UTF-8 never puts one inside
 * another character. Stops after `limit` bytes.
 */
function readLines(path: string, apply: (line: string) => void, limit = Infinity): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let length = 0;
  try {
    const chunk = Buffer.allocUnsafe(IO_CHUNK);
    /** The bytes of a line begun in earlier chunks. */
    let begun: Buffer[] = [];
    for (let ended = false; !ended; ) {
      const read = readSync(fd, chunk, 0, Math.min(IO_CHUNK, limit - length), null);
      const nul = chunk.subarray(0, read).indexOf(0);
      ended = read === 0 || nul !== -1;
      const bytes = chunk.subarray(0, nul === -1 ? read : nul);
      length += bytes.length;
      let start = 0;
      for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
        const line = begun.length === 0 ? bytes.toString('utf8', start, newline) : Buffer.concat([...begun, bytes.subarray(start, newline)]).toString('utf8');
        begun = [];
        if (line !== '') apply(line);
        start = newline + 1;
      }
      // Copied: the chunk is read into again.
      if (start < bytes.length) begun.push(Buffer.from(bytes.subarray(start)));
    }
    // A last line without its newline (torn, or its newline lost before the zeros).
    if (begun.length > 0) apply(Buffer.concat(begun).toString('utf8'));
  } finally {
    closeSync(fd);
  }
  return length;
}

/**
 * The snapshot and its first zeros are synced together, before the rename: the syncs of
 * the lines written after it change no metadata until the zeros run out. Zeros the disk
 * has no room for are left out (the file is cut after the lines): the old file, still
 * there until the rename, may be what fills it, and the lines are what must be kept.
 */
function writeSnapshotSync(path: string, lines: Iterable<string>, preallocateBytes: number): Written {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let position = 0;
  let zeros = 0;
  let count = 0;
  try {
    let text = '';
    const flush = (): void => {
      const bytes = Buffer.byteLength(text);
      writeAllSync(fd, text, bytes, position, tmp);
      position += bytes;
      text = '';
    };
    for (const line of lines) {
      text += `${line}\n`;
      count++;
      if (text.length >= IO_CHUNK) flush();
    }
    flush();
    try {
      writeZerosSync(fd, tmp, position, position + preallocateBytes);
      zeros = preallocateBytes;
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      ftruncateSync(fd, position);
    }
    fdatasyncSync(fd);
  } catch (error) {
    closeSync(fd);
    // Left, it would keep the disk full (it is as large as what was written of it) until the next open.
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
  // The rename itself is only durable once the directory entry is synced.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return { position, end: position + zeros, lines: count };
}

/** The disk or the quota is full: a later write may succeed once there is room. */
function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Shared, never written to: zeros are written from it a chunk at a time. */
const ZEROS = Buffer.alloc(64 * 1024);

function writeZerosSync(fd: number, path: string, from: number, to: number): void {
  for (let at = from; at < to; ) {
    const length = Math.min(ZEROS.length, to - at);
    writeAllSync(fd, ZEROS.subarray(0, length), length, at, path);
    at += length;
  }
}

/**
 * Writes all `bytes` of `data` at `position`. A short write (the disk filled up during
 * it) is followed by one for the rest, as POSIX asks, so that a full disk fails with the
 * kernel's ENOSPC, which `reopen` can get past, rather than with a short count.
 */
function writeAllSync(fd: number, data: string | Buffer, bytes: number, position: number, path: string): void {
  let written = typeof data === 'string' ? writeSync(fd, data, position) : writeSync(fd, data, 0, bytes, position);
  if (written === bytes) return;
  const rest = typeof data === 'string' ? Buffer.from(data) : data;
  while (written < bytes) {
    const more = writeSync(fd, rest, written, bytes - written, position + written);
    // Not for a regular file, but it would loop for ever.
    if (more === 0) throw new Error(`short write to ${path}`);
    written += more;
  }
}
