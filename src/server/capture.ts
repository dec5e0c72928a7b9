import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** What the handler answered, as seen by the middleware when it ends the response. */
export interface CapturedResponse {
  readonly status: number;
  /** Every header set on the response, lower-cased names. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The body, or undefined when it went over the capture limit (only its size is known). */
  readonly body: Buffer | undefined;
  readonly bodyBytes: number;
}

type Chunk = string | Uint8Array;

/**
 * What `onEnd` may resolve with instead of letting the captured answer go out: it runs
 * with the response's own methods back in place (e.g. to answer a problem instead).
 */
export type ReplaceAnswer = (res: ServerResponse) => void;

/**
 * Wraps `writeHead`, `write` and `end` of one response to copy what the handler sends.
 * The body still streams to the client as written; only the final `end` is held until
 * `onEnd` has stored the outcome, so a client that has seen the response can always get
 * its replay.
 */
export function captureResponse(
  res: ServerResponse,
  maxBytes: number,
  onEnd: (captured: CapturedResponse) => Promise<void | ReplaceAnswer>,
): void {
  const originalWriteHead = res.writeHead;
  const originalWrite = res.write;
  const originalEnd = res.end;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let overflow = false;
  let headHeaders: OutgoingHttpHeaders = {};
  let ended = false;

  const keep = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buffer = toBuffer(chunk as Chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined);
    bytes += buffer.length;
    if (overflow) return;
    if (bytes > maxBytes) {
      overflow = true;
      chunks.length = 0;
      return;
    }
    chunks.push(buffer);
  };

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    // Headers given to writeHead are not visible through getHeaders() unless setHeader
    // was called before, so they are recorded here.
    const headers = args.find((arg, i): arg is object => i > 0 && typeof arg === 'object' && arg !== null);
    if (headers !== undefined) headHeaders = { ...headHeaders, ...normaliseHeadHeaders(headers) };
    return (originalWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];

  res.write = function write(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    keep(chunk, rest[0]);
    return (originalWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];

  res.end = function end(this: ServerResponse, ...args: unknown[]): ServerResponse {
    if (ended) return this;
    ended = true;
    const [chunk, encoding] = args;
    keep(chunk, encoding);
    const headers = { ...collectHeaders(res.getHeaders()), ...collectHeaders(headHeaders) };
    const captured: CapturedResponse = {
      status: res.statusCode,
      headers,
      body: overflow ? undefined : Buffer.concat(chunks, bytes),
      bodyBytes: bytes,
    };
    const finish = (replace: void | ReplaceAnswer): void => {
      if (replace === undefined) {
        (originalEnd as (...a: unknown[]) => ServerResponse).apply(res, args);
        return;
      }
      res.writeHead = originalWriteHead;
      res.write = originalWrite;
      res.end = originalEnd;
      replace(res);
    };
    onEnd(captured).then(finish, () => finish(undefined));
    return this;
  } as ServerResponse['end'];
}

function toBuffer(chunk: Chunk, encoding: BufferEncoding | undefined): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function normaliseHeadHeaders(headers: object): OutgoingHttpHeaders {
  if (!Array.isArray(headers)) return headers as OutgoingHttpHeaders;
  const out: OutgoingHttpHeaders = {};
  // Both flat [name, value, ...] and [[name, value], ...] are accepted by Node.
  const pairs: unknown[][] = Array.isArray(headers[0])
    ? (headers as unknown[][])
    : Array.from({ length: Math.floor(headers.length / 2) }, (_, i) => [headers[2 * i], headers[2 * i + 1]]);
  for (const [name, value] of pairs) {
    if (typeof name === 'string') out[name] = value as OutgoingHttpHeaders[string];
  }
  return out;
}

function collectHeaders(headers: OutgoingHttpHeaders): Record<string, string | readonly string[]> {
  const out: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}
