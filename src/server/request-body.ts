/**
 * The one place a request body is read: by the middleware before it fingerprints the
 * payload, and by the built-in handlers (orders API, proxy) on requests the middleware
 * let through unread. Whoever reads first keeps the bytes on the request, so nobody
 * reads the stream twice.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { losesDigits } from '../protocol/index.js';
import { repeatsNames } from './repeated-names.js';

/** The request body was larger than the limit (`maxBodyBytes`). */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  readonly code = 'body-too-large';
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** A request as the middleware leaves it: the body read, parsed where it is JSON. */
export interface ReadRequest extends IncomingMessage {
  /** Parsed JSON for JSON content types, else the raw bytes; kept as is when a body parser ran first. */
  body?: unknown;
  /** The exact bytes received, when the middleware read the body itself. */
  rawBody?: Buffer;
}

/**
 * body-parser 1.x (Express 4's parsers) sets `_body` on a request whose stream it read, and
 * skips any request that has it; else it reads the stream, even one already read (a 500).
 */
type MarkedRequest = ReadRequest & { _body?: boolean };

/**
 * Leaves the bytes `readBody` read on the request (`rawBody`, and `body`: parsed for JSON
 * content types, else the bytes; an empty body leaves `body` as it was) and returns the
 * payload the middleware fingerprints: the parsed JSON where that is an object, array or
 * string and kept all the bytes said (so it is not parsed twice; `canonicalBodyText` gives
 * the raw text the same canonical form), else the raw bytes. Marks the body read for
 * Express 4's parsers.
 */
export function payloadOf(req: ReadRequest, raw: Buffer): unknown {
  req.rawBody = raw;
  (req as MarkedRequest)._body = true;
  if (!isJson(req.headers['content-type']) || raw.length === 0) {
    if (raw.length > 0) req.body = raw;
    return raw;
  }
  const text = raw.toString('utf8');
  const parsed = parseJson(text);
  req.body = parsed !== undefined ? parsed : raw;
  if (typeof parsed === 'string') return isUtf8(raw) ? parsed : raw;
  // Fingerprinted from the bytes where the parse lost something: a number it rounded (as
  // `canonicalBodyText` does), bytes that are no UTF-8 (a latin1 `é` and `è` both decode
  // to U+FFFD), a member named twice (the first dropped).
  return typeof parsed === 'object' && parsed !== null && !losesDigits(text) && isUtf8(raw) && !repeatsNames(text, parsed) ? parsed : raw;
}

/**
 * Whether `body` is the `{}` Express 4's parsers (body-parser 1.x) put on every request
 * they pass through, before looking at its content type: set, but nothing was read (no
 * `_body`), so the payload is still in the stream. Express 5's leave `req.body` undefined.
 */
export function isUnreadPlaceholder(req: ReadRequest, body: unknown): boolean {
  if ((req as MarkedRequest)._body === true || typeof body !== 'object' || body === null) return false;
  if (Object.getPrototypeOf(body) !== Object.prototype) return false;
  for (const _ in body) return false;
  return true;
}

/** The request's raw bytes: those the middleware kept, or read now (unguarded requests). */
export async function rawBodyOf(req: ReadRequest, limit: number): Promise<Buffer> {
  if (req.rawBody !== undefined) return req.rawBody;
  if (Buffer.isBuffer(req.body)) return req.body;
  if (req.body !== undefined) return Buffer.from(JSON.stringify(req.body));
  if (req.readableEnded) return Buffer.alloc(0);
  const raw = await readBody(req, limit);
  req.rawBody = raw;
  return raw;
}

/**
 * Reads the whole request body, refusing more than `limit` bytes. A declared
 * Content-Length over the limit is refused before reading anything.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => new BodyReader(req, limit, resolve, reject).start());
}

/** One body being read; its listeners are bound methods, not closures made per request. */
class BodyReader {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.onData = this.onData.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onError = this.onError.bind(this);
  }

  start(): void {
    this.req.on('data', this.onData);
    this.req.on('end', this.onEnd);
    this.req.on('error', this.onError);
    // Paused before us and never read (a throttle, a proxy): a 'data' listener does not
    // restart a stream paused by hand, and the request would wait for ever.
    if (this.req.readableFlowing === false) this.req.resume();
  }

  onData(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.limit) {
      this.#stop();
      // Stop buffering but keep draining, so the 413 can still be written on this socket.
      this.req.resume();
      this.reject(new BodyTooLargeError(this.limit));
      return;
    }
    this.#chunks.push(chunk);
  }

  onEnd(): void {
    this.#stop();
    const chunks = this.#chunks;
    this.resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
  }

  onError(error: Error): void {
    this.#stop();
    this.reject(error);
  }

  #stop(): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('error', this.onError);
  }
}

function isJson(contentType: string | undefined): boolean {
  // The usual spelling is answered without the regex.
  return contentType === 'application/json' || (contentType !== undefined && JSON_TYPE.test(contentType));
}

const JSON_TYPE = /^application\/([\w.+-]*\+)?json\b/i;

/** The parsed JSON, or undefined for an empty or unparsable body. */
export function parseJsonBody(raw: Buffer): unknown {
  return raw.length === 0 ? undefined : parseJson(raw.toString('utf8'));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
