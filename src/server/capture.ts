import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** What the handler answered, as seen by the middleware when it ends the response. */
export interface CapturedResponse {
  readonly status: number;
  /** The headers set on the response that are kept for replay, lower-cased names. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The body, or undefined when it went over the capture limit (only its size is known). */
  readonly body: Buffer | undefined;
  readonly bodyBytes: number;
}

/**
 * What `settle` may resolve with instead of letting the captured answer go out: it runs
 * with the response's own methods back in place (e.g. to answer a problem instead).
 */
export type ReplaceAnswer = (res: ServerResponse) => void;

/** Who stores the captured answer before its `end` goes out. */
export interface CaptureOwner {
  settle(captured: CapturedResponse): Promise<void | ReplaceAnswer>;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Wraps `writeHead`, `write` and `end` of one response to copy what the handler sends.
 * The body still streams to the client as written; only the final `end` is held until
 * `owner.settle` has stored the outcome, so a client that has seen the response can
 * always get its replay. Only the headers named in `keepHeaders` are copied.
 *
 * Nothing else is added to the response: Express swaps its prototype, after which every
 * property added to it costs microseconds (V8 makes new hidden classes for it each time).
 * Each wrapper is bound to its own capture, so another middleware that wraps the same
 * methods, before or after, still sees its own calls.
 */
export function captureResponse(res: ServerResponse, maxBytes: number, keepHeaders: ReadonlySet<string>, owner: CaptureOwner): void {
  const capture = new Capture(res, maxBytes, keepHeaders, owner);
  // Anonymous functions: a named one would be renamed at runtime by some transpilers (tsx), per request.
  res.writeHead = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    return capture.writeHeadCalled(this, args);
  } as ServerResponse['writeHead'];
  res.write = function (this: ServerResponse, ...args: unknown[]): boolean {
    return capture.writeCalled(this, args);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    return capture.endCalled(this, args);
  } as ServerResponse['end'];
}

class Capture {
  readonly writeHead: Method;
  readonly write: Method;
  readonly end: Method;
  #ended = false;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #overflow = false;
  /** True while every kept chunk is a buffer made here (from a string), which nobody else can change. */
  #owned = true;
  #headHeaders: Map<string, OutgoingHttpHeaders[string]> | undefined;

  constructor(
    readonly res: ServerResponse,
    readonly maxBytes: number,
    readonly keepHeaders: ReadonlySet<string>,
    readonly owner: CaptureOwner,
  ) {
    this.writeHead = res.writeHead as Method;
    this.write = res.write as Method;
    this.end = res.end as Method;
  }

  writeHeadCalled(res: ServerResponse, args: unknown[]): ServerResponse {
    // Headers given to writeHead are not visible through getHeaders() unless setHeader
    // was called before, so they are recorded here.
    for (let i = 1; i < args.length; i++) {
      const headers = args[i];
      if (typeof headers === 'object' && headers !== null) {
        this.#recordHeadHeaders(headers);
        break;
      }
    }
    return this.writeHead.apply(res, args) as ServerResponse;
  }

  writeCalled(res: ServerResponse, args: unknown[]): boolean {
    this.#keep(args[0], args[1]);
    return this.write.apply(res, args) as boolean;
  }

  endCalled(res: ServerResponse, args: unknown[]): ServerResponse {
    if (this.#ended) return res;
    this.#ended = true;
    this.#keep(args[0], args[1]);
    void this.#finish(args);
    return res;
  }

  #keep(chunk: unknown, encoding: unknown): void {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    let buffer: Buffer;
    if (typeof chunk === 'string') {
      buffer = Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    } else {
      const bytes = chunk as Uint8Array;
      buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.#owned = false;
    }
    this.#bytes += buffer.length;
    if (this.#overflow) return;
    if (this.#bytes > this.maxBytes) {
      this.#overflow = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(buffer);
  }

  #recordHeadHeaders(headers: object): void {
    const map = (this.#headHeaders ??= new Map());
    if (!Array.isArray(headers)) {
      for (const name of Object.keys(headers)) map.set(name.toLowerCase(), (headers as OutgoingHttpHeaders)[name]);
      return;
    }
    // Both flat [name, value, ...] and [[name, value], ...] are accepted by Node.
    const pairs = Array.isArray(headers[0]);
    const count = pairs ? headers.length : Math.floor(headers.length / 2);
    for (let i = 0; i < count; i++) {
      const [name, value] = (pairs ? headers[i] : [headers[2 * i], headers[2 * i + 1]]) as [unknown, OutgoingHttpHeaders[string]];
      if (typeof name === 'string') map.set(name.toLowerCase(), value);
    }
  }

  /** Stores the answer, then lets the held `end` go out (or the replacement answer). */
  async #finish(args: unknown[]): Promise<void> {
    let replace: void | ReplaceAnswer;
    try {
      replace = await this.owner.settle(this.#captured());
    } catch {
      replace = undefined;
    }
    const res = this.res;
    if (replace === undefined) {
      this.end.apply(res, args);
      return;
    }
    res.writeHead = this.writeHead as ServerResponse['writeHead'];
    res.write = this.write as ServerResponse['write'];
    res.end = this.end as ServerResponse['end'];
    replace(res);
  }

  #captured(): CapturedResponse {
    const chunks = this.#chunks;
    const body = this.#overflow ? undefined : chunks.length === 1 && this.#owned ? chunks[0]! : Buffer.concat(chunks, this.#bytes);
    return { status: this.res.statusCode, headers: this.#keptHeaders(), body, bodyBytes: this.#bytes };
  }

  #keptHeaders(): Record<string, string | readonly string[]> {
    const out: Record<string, string | readonly string[]> = {};
    const head = this.#headHeaders;
    for (const name of this.keepHeaders) {
      const value = head?.get(name) ?? this.res.getHeader(name);
      if (value === undefined) continue;
      out[name] = Array.isArray(value) ? value.map(String) : String(value);
    }
    return out;
  }
}
