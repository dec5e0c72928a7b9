import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { PrototypeLayer } from './prototype-layer.js';
import { readProperty } from './read-property.js';
import { hasBody } from './replay.js';
import type { StoredResponse } from './stores/types.js';

/**
 * What the handler answered, as seen by the middleware when it ends the response, in the
 * form the store keeps (one object, not a capture and a copy for the store): the kept
 * headers (lower-cased names), and the body, or, when it went over the capture limit, an
 * empty body and `omittedBodyBytes`.
 */
export type CapturedResponse = StoredResponse;

/**
 * What `settle` may resolve with instead of letting the captured answer go out: it runs
 * with the response's own methods back in place (e.g. to answer a problem instead).
 */
export type ReplaceAnswer = (res: ServerResponse) => void;

/**
 * What `settle` gives back: at once when the store answered at once, else a promise of it,
 * or `settlesLater` when `settle` calls `finishLater` itself once the store has answered.
 */
export type Settled = void | ReplaceAnswer | Promise<void | ReplaceAnswer> | typeof settlesLater;

/**
 * `settle`'s answer when it lets the held end go out itself (`finishLater`): a completion
 * waiting for its store then holds one promise (the store's `.then`) instead of two, and
 * no closure over the captured answer (session 27: what a request waiting for its
 * `fdatasync` keeps alive).
 */
export const settlesLater: unique symbol = Symbol('settlesLater');

type Method = (...args: unknown[]) => unknown;
type Methods = Record<'writeHead' | 'write' | 'end' | 'destroy', Method>;

/**
 * The capture of each response whose methods come from `responseLayer`, from the claim
 * until its `end` goes out. A Map, with the entry deleted then, not a WeakMap: the
 * collector's minor collections keep the value of a WeakMap entry alive (and a capture
 * reaches the whole request: response, request, body), so every request's objects were
 * copied and promoted until the next full collection: 31 against 21 KB copied by the
 * scavenger per request, bare Express 20 (`--trace-gc-nvp`, 20 000 requests).
 */
const captures = new Map<ServerResponse, ResponseCapture>();
/**
 * Captures whose end may never come (a run past `maxRunMs`, or cut off after its head):
 * kept only as long as their response lives, so a handler that never ends its response
 * leaks nothing.
 */
const lateCaptures = new WeakMap<ServerResponse, ResponseCapture>();
/**
 * Whether any capture was ever moved to `lateCaptures`: until then it is empty, and a
 * response without a capture (every one, when its capture begins) is not looked up there.
 */
let anyLate = false;

const captureOf = (res: ServerResponse): ResponseCapture | undefined => captures.get(res) ?? (anyLate ? lateCaptures.get(res) : undefined);

const method = (value: Method): PropertyDescriptor => ({ value, writable: true, configurable: true });

/**
 * Response methods that go to the response's capture while it has one, else to the
 * prototype's own; `destroy` waits while the response's end is held (`deferDestroy`).
 */
const responseLayer = new PrototypeLayer(['writeHead', 'write', 'end', 'destroy'], (parent) => {
  const original = parent as Methods;
  return {
    writeHead: method(function (this: ServerResponse, ...args: unknown[]) {
      const capture = captureOf(this);
      return capture === undefined ? original.writeHead.apply(this, args) : capture.writeHeadCalled(this, args);
    }),
    write: method(function (this: ServerResponse, ...args: unknown[]) {
      const capture = captureOf(this);
      return capture === undefined ? original.write.apply(this, args) : capture.writeCalled(this, args);
    }),
    end: method(function (this: ServerResponse, ...args: unknown[]) {
      const capture = captureOf(this);
      return capture === undefined ? original.end.apply(this, args) : capture.endCalled(this, args);
    }),
    destroy: method(function (this: ServerResponse, ...args: unknown[]) {
      if (deferDestroy(this, args[0])) return this;
      captureOf(this)?.responseDestroyed(this);
      return original.destroy.apply(this, args);
    }),
  };
});

/**
 * For a run whose end may never come through the capture (past `maxRunMs`, or cut off
 * after its head): its capture is kept from then on only as long as the response lives.
 */
export function captureMayNeverEnd(res: ServerResponse): void {
  const capture = captures.get(res);
  if (capture === undefined) return;
  captures.delete(res);
  anyLate = true;
  lateCaptures.set(res, capture);
}

/** On the `end` that `captureOnInstance` puts on a response: its capture. */
const ON_INSTANCE = Symbol('submit-once capture');

/**
 * The wrappers on the response itself. A function of its own: with the layer's branch in
 * the same function, the garbage collector's time per request on plain node:http tripled
 * (measured with a PerformanceObserver on 'gc', 40 000 requests: 3.5-5 µs against 10-12
 * µs), although what the request allocates and keeps did not change.
 */
function captureOnInstance(res: ServerResponse, capture: ResponseCapture): void {
  // Anonymous functions: a named one would be renamed at runtime by some transpilers (tsx), per request.
  res.writeHead = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    return capture.writeHeadCalled(this, args);
  } as ServerResponse['writeHead'];
  res.write = function (this: ServerResponse, ...args: unknown[]): boolean {
    return capture.writeCalled(this, args);
  } as ServerResponse['write'];
  const end = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    return capture.endCalled(this, args);
  } as ServerResponse['end'] & { [ON_INSTANCE]?: ResponseCapture };
  // Found by `activeCapture` without a table of its own: these wrappers are the rarer path.
  end[ON_INSTANCE] = capture;
  res.end = end;
  const destroy = res.destroy;
  res.destroy = function (this: ServerResponse, error?: Error): ServerResponse {
    capture.responseDestroyed(this);
    return destroy.call(this, error) as ServerResponse;
  };
}

/**
 * The capture of `res` (a run of some middleware instance), if it has one: from its
 * claim, on either path, until its end went out, and on the response's own methods
 * after that. The caller checks whether its run is still going.
 */
export function activeCapture(res: ServerResponse): ResponseCapture | undefined {
  return captureOf(res) ?? (res.end as { [ON_INSTANCE]?: ResponseCapture })[ON_INSTANCE];
}

const unset: Method = () => undefined;
const noHeaders: ReadonlySet<string> = new Set();

/**
 * Intercepts `writeHead`, `write` and `end` of one response to copy what the handler
 * sends, from `captureResponse` on. The body still streams to the client as written; only
 * the final `end` is held until `settle` has stored the outcome, so a client that has seen
 * the response can always get its replay. Only the headers named in `keepHeaders` are
 * copied.
 *
 * A base class, not an object of its own: the run that owns the answer (`execute.ts`) is
 * the capture, one object a request where a run and its capture were two, each with its
 * own copy of the response.
 *
 * Behind Express the methods come from a layer above the app's response prototype
 * (`PrototypeLayer`: a property added to an Express response costs microseconds). Else,
 * and when another middleware (or a second guard) already wrapped them on the response,
 * they are wrapped on the response itself, each wrapper bound to its own capture, so
 * every wrapper before or after still sees its own calls.
 */
export abstract class ResponseCapture {
  // Set by `captureResponse`; given values here so every run has the same fields from its start.
  #writeHead = unset;
  #write = unset;
  #end = unset;
  /** True when `responseLayer` routes the response's methods here. */
  #layered = false;
  #maxBytes = 0;
  #keepHeaders = noHeaders;
  #ended = false;
  /**
   * The kept chunks: the first in a field of its own, the array only from a second one
   * (most handlers answer with one `end(body)`: no array a request).
   */
  #first: Buffer | undefined = undefined;
  #more: Buffer[] | undefined = undefined;
  #bytes = 0;
  #overflow = false;
  /** True while every kept chunk is a buffer made here (from a string), which nobody else can change. */
  #owned = true;
  /** The kept headers given to `writeHead`, as lower-cased name and value, name and value, in the order given. */
  #headHeaders: unknown[] | undefined = undefined;
  /**
   * The kept headers as the head went through this capture before the end, if it did:
   * what a wrapper below adds to the head after (`compression()` mounted before the
   * guard: Content-Encoding) describes bytes this capture never saw.
   */
  #sentHeaders: Record<string, string | readonly string[]> | undefined = undefined;
  /** The status the head went out with, when it went out before the end: one set after it reached nobody. */
  #sentStatus = 0;
  /** The held `end`'s arguments, from `endCalled` until `finishLater` lets it go out. */
  #endArgs: unknown[] | undefined = undefined;
  /** True when `settle` may answer something else than the captured answer (its head must stay open until then). */
  #mayReplace = false;
  /** The held end went out: from then on the response's own methods answer every call. */
  #finished = false;
  /**
   * Writes and ends the handler made after its end, while that end is held: method and
   * arguments, in turn. Made to the response after the end went out, where they fail as
   * Node fails them (instead of their bytes going out before the end's).
   */
  #late: unknown[] | undefined = undefined;
  /** The head as the held end left it, while `#freezeHead` keeps it from changing. */
  #frozen: FrozenHead | undefined = undefined;
  /** The connection whose destroy waits for the held end (`holdDestroys`). */
  #heldTransport: Transport | undefined = undefined;

  constructor(protected readonly res: ServerResponse) {}

  /** Stores the captured answer before its `end` goes out. */
  abstract settle(captured: CapturedResponse): Settled;

  /**
   * The handler destroyed its response or its connection before its `end`, the caller
   * still there (`watchCuts`): it gave up its answer, which no end will complete.
   */
  protected abstract cutOff(): void;

  /** From `watchCuts`: the answer's connection is being destroyed, its caller still there. */
  connectionCut(): void {
    // After the end, the destroy waits for the held end (`holdDestroys`): that answer is whole.
    if (!this.#ended) this.cutOff();
  }

  /**
   * `res.destroy()`, called by the handler or what it pipes into the response: a cut
   * whatever its error. Its source's system error (a `pipeline` from a file or an upstream
   * socket: `read ECONNRESET`, `EISDIR`) looks like the caller's reset to `peerGone`, which
   * left the key in flight until `maxRunMs`. Not a cut once the connection is gone already:
   * the caller's reset or hang-up came first.
   */
  responseDestroyed(res: ServerResponse): void {
    if (res.destroyed || (transportOf(res) as { destroyed?: unknown } | undefined)?.destroyed === true) return;
    this.connectionCut();
  }

  /**
   * Starts capturing `res`: what it sends from now on, up to `maxBytes` of body, and the
   * headers named in `keepHeaders`. `mayReplace`: `settle` may answer something else
   * than the captured answer.
   */
  protected captureResponse(maxBytes: number, keepHeaders: ReadonlySet<string>, mayReplace: boolean): void {
    const { res } = this;
    this.#maxBytes = maxBytes;
    this.#keepHeaders = keepHeaders;
    this.#mayReplace = mayReplace;
    const layer = captureOf(res) !== undefined ? undefined : responseLayer.reach(res);
    const originals = layer === undefined ? (res as unknown as Methods) : (Object.getPrototypeOf(layer) as Methods);
    this.#writeHead = originals.writeHead;
    this.#write = originals.write;
    this.#end = originals.end;
    watchCuts(res, this);
    if (layer === undefined) return captureOnInstance(res, this);
    this.#layered = true;
    captures.set(res, this);
  }

  writeHeadCalled(res: ServerResponse, args: unknown[]): ServerResponse {
    if (this.#frozen !== undefined) throw headersSentError('write', this.#frozen.http2);
    // Past the end the answer is captured already, and once the head went out Node throws.
    if (this.#ended || res.headersSent) return this.#writeHead.apply(res, args) as ServerResponse;
    // Headers given to writeHead are not visible through getHeaders() unless setHeader
    // was called before, so they are recorded here.
    const recorded = this.#headHeaders?.length ?? 0;
    for (let i = 1; i < args.length; i++) {
      const headers = args[i];
      if (typeof headers === 'object' && headers !== null) {
        this.#recordHeadHeaders(headers);
        break;
      }
    }
    // Read before the head goes out, not at the end: what a wrapper below adds to it
    // (`#sentHeaders`) describes bytes this capture never sees.
    const sent = this.#keptHeaders();
    let out: ServerResponse;
    try {
      out = this.#writeHead.apply(res, args) as ServerResponse;
    } catch (error) {
      // Refused (a line break in a value): no head went out, and the handler may answer otherwise.
      if (this.#headHeaders !== undefined) this.#headHeaders.length = recorded;
      throw error;
    }
    this.#sentHeaders = sent;
    this.#sentStatus = res.statusCode;
    return out;
  }

  writeCalled(res: ServerResponse, args: unknown[]): boolean {
    if (this.#ended) return this.#afterEnd(res, this.#write, args) as boolean;
    // A chunk Node refuses is not kept: Node throws on it, as without the middleware.
    if (!refused(args[0])) this.#keep(args[0], args[1]);
    return this.#write.apply(res, args) as boolean;
  }

  endCalled(res: ServerResponse, args: unknown[]): ServerResponse {
    if (this.#ended) return this.#afterEnd(res, this.#end, args) as ServerResponse;
    // Node's own error, with nothing ended, as without the middleware: ended here, the
    // handler's failure could no longer be answered and its caller would wait until maxRunMs.
    if (refused(args[0])) return this.#end.apply(res, args) as ServerResponse;
    // Before the end counts: an encoding Node does not know throws here (ERR_UNKNOWN_ENCODING,
    // as Node's own `end` throws), and the handler may still answer.
    this.#keep(args[0], args[1]);
    this.#ended = true;
    let settled: Settled;
    try {
      settled = this.settle(this.#captured());
    } catch {
      settled = undefined;
    }
    if (settled === settlesLater) {
      // `finishLater` runs from the store's promise, so never before this line.
      this.#endArgs = args;
      this.#hold(res, args);
      return res;
    }
    // A store that answered at once lets the end go out in this call, without a promise turn.
    if (settled instanceof Promise) {
      settled.then((replace) => this.#finish(args, replace), () => this.#finish(args, undefined));
      this.#hold(res, args);
    } else this.#finish(args, settled);
    return res;
  }

  /**
   * The end is held until the store has answered. To the handler and what follows it
   * (Express's error handler), its answer is sent: its head is closed (or frozen), and a
   * destroy of its connection (Express's error handler after the head went out) waits for
   * the held end, which without the middleware was on the wire before it.
   */
  #hold(res: ServerResponse, args: unknown[]): void {
    if (this.#mayReplace || (res as { stream?: unknown }).stream !== undefined) this.#freezeHead(res);
    else this.#closeHead(res, args);
    const transport = transportOf(res);
    if (transport === undefined) return;
    holdDestroys(transport);
    this.#heldTransport = transport;
    // Behind Express the layer's `destroy` defers; the response's own would mark it destroyed, its held end then dropped.
    if (!this.#layered) deferResponseDestroy(res);
  }

  /**
   * For a head that must stay open while the end is held (`settle` may replace the answer;
   * HTTP/2 would send it at once): it looks sent, and changing it throws as Node throws
   * once it went out, so a second send cannot change the status and headers the held
   * body goes out under. Undone before the end goes out.
   */
  #freezeHead(res: ServerResponse): void {
    if (res.headersSent) return;
    const http2 = (res as { stream?: unknown }).stream !== undefined;
    const saved: Array<[string, PropertyDescriptor | undefined]> = [];
    const replace = (name: string, descriptor: PropertyDescriptor): void => {
      saved.push([name, Object.getOwnPropertyDescriptor(res, name)]);
      Object.defineProperty(res, name, { ...descriptor, configurable: true });
    };
    for (const [name, verb] of FROZEN_METHODS) {
      if (typeof (res as unknown as Record<string, unknown>)[name] !== 'function') continue;
      replace(name, {
        writable: true,
        value: () => {
          throw headersSentError(verb, http2);
        },
      });
    }
    replace('headersSent', { get: () => true });
    // HTTP/2 has no status message (setting it warns).
    this.#frozen = { status: res.statusCode, message: http2 ? undefined : res.statusMessage, saved, http2 };
  }

  #thaw(res: ServerResponse): void {
    const frozen = this.#frozen;
    if (frozen === undefined) return;
    this.#frozen = undefined;
    for (const [name, descriptor] of frozen.saved) {
      if (descriptor === undefined) delete (res as unknown as Record<string, unknown>)[name];
      else Object.defineProperty(res, name, descriptor);
    }
    res.statusCode = frozen.status;
    if (frozen.message !== undefined) res.statusMessage = frozen.message;
  }

  /**
   * While the end is held, the head is closed as the end would close it: a second send
   * (Express's most common bug) must throw ERR_HTTP_HEADERS_SENT as without the
   * middleware, not change the status and Content-Length the held body goes out under.
   * On HTTP/1 `writeHead` only renders the head, which goes out with the end's bytes;
   * HTTP/2's compatibility API would send it at once, and an answer `settle` may still
   * replace needs it open: those two are frozen instead (`#freezeHead`).
   */
  #closeHead(res: ServerResponse, args: unknown[]): void {
    if (this.#mayReplace || res.headersSent || (res as { stream?: unknown }).stream !== undefined) return;
    const status = res.statusCode;
    // The length Node's `end` gives a body it has whole, which a head rendered before it cannot know.
    if (status >= 200 && hasBody(res, status) && !res.hasHeader('content-length') && !res.hasHeader('transfer-encoding')) {
      res.setHeader('Content-Length', byteLength(args[0], args[1]));
    }
    // Through the response's own method, as Node's `end` renders it: hooks mounted after the guard (on-headers) still run.
    res.writeHead(status);
  }

  /** A write or end after the end: made at once once the end went out, else once it has. */
  #afterEnd(res: ServerResponse, method: Method, args: unknown[]): unknown {
    if (this.#finished) return method.apply(res, args);
    (this.#late ??= []).push(method, args);
    return method === this.#end ? res : false;
  }

  /**
   * For a `settle` that answered `settlesLater`: lets the held end go out with what
   * `answer` says (the captured answer, or its replacement). If `answer` throws, the
   * captured answer goes out, as when a promise `settle` gave back rejected.
   */
  protected finishLater(answer: () => void | ReplaceAnswer): void {
    const args = this.#endArgs ?? [];
    this.#endArgs = undefined;
    let replace: void | ReplaceAnswer;
    try {
      replace = answer();
    } catch {
      replace = undefined;
    }
    this.#finish(args, replace);
  }

  #keep(chunk: unknown, encoding: unknown): void {
    if (!chunk || typeof chunk === 'function') return;
    let buffer: Buffer;
    if (typeof chunk === 'string') {
      buffer = Buffer.from(chunk, stringEncoding(encoding));
    } else {
      const bytes = chunk as Uint8Array;
      buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.#owned = false;
    }
    this.#bytes += buffer.length;
    if (this.#overflow) return;
    if (this.#bytes > this.#maxBytes) {
      this.#overflow = true;
      this.#first = undefined;
      this.#more = undefined;
      return;
    }
    if (this.#first === undefined) this.#first = buffer;
    else (this.#more ??= [this.#first]).push(buffer);
  }

  #recordHeadHeaders(headers: object): void {
    const kept = this.#keepHeaders;
    const head = (this.#headHeaders ??= []);
    // Only the kept names: the others are never read.
    if (!Array.isArray(headers)) {
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (kept.has(lower)) head.push(lower, (headers as OutgoingHttpHeaders)[name]);
      }
      return;
    }
    // Both flat [name, value, ...] and [[name, value], ...] are accepted by Node. A list is
    // the head as it goes out, each line, when nothing was set on the response before;
    // else Node sets each name in turn (the last line of a name wins).
    const everyLine = this.res.getHeaderNames().length === 0;
    const pairs = Array.isArray(headers[0]);
    const count = pairs ? headers.length : Math.floor(headers.length / 2);
    for (let i = 0; i < count; i++) {
      const [name, value] = (pairs ? headers[i] : [headers[2 * i], headers[2 * i + 1]]) as [unknown, OutgoingHttpHeaders[string]];
      if (typeof name !== 'string') continue;
      const lower = name.toLowerCase();
      if (!kept.has(lower)) continue;
      const earlier = everyLine ? headValue(head, lower) : undefined;
      head.push(lower, earlier === undefined ? value : [earlier, value].flat());
    }
  }

  /** Once the answer is stored, lets the held `end` go out (or the replacement answer). */
  #finish(args: unknown[], replace: void | ReplaceAnswer): void {
    const { res } = this;
    // From here on the response's own methods answer (a second `end` too, as without the middleware).
    // A capture is in one of the two maps, rarely the WeakMap: it is searched only when the Map had none.
    if (this.#layered && !captures.delete(res) && anyLate) lateCaptures.delete(res);
    this.#finished = true;
    this.#thaw(res);
    if (replace === undefined) this.#end.apply(res, args);
    else {
      // The handler's end callback, which Node calls on 'finish': of the answer that replaced its own.
      const callback = args[args.length - 1];
      if (typeof callback === 'function') res.once('finish', callback as () => void);
      if (!this.#layered) {
        res.writeHead = this.#writeHead as ServerResponse['writeHead'];
        res.write = this.#write as ServerResponse['write'];
        res.end = this.#end as ServerResponse['end'];
      }
      replace(res);
    }
    const late = this.#late;
    if (late !== undefined) {
      this.#late = undefined;
      for (let i = 0; i < late.length; i += 2) (late[i] as Method).apply(res, late[i + 1] as unknown[]);
    }
    const transport = this.#heldTransport;
    if (transport === undefined) return;
    this.#heldTransport = undefined;
    releaseDestroys(res, transport);
  }

  #captured(): CapturedResponse {
    const sent = this.#sentHeaders;
    const statusCode = sent === undefined ? this.res.statusCode : this.#sentStatus;
    const headers = sent ?? this.#keptHeaders();
    if (this.#overflow) return { status: statusCode, headers, body: Buffer.alloc(0), omittedBodyBytes: this.#bytes };
    const first = this.#first;
    const more = this.#more;
    const body = more !== undefined ? Buffer.concat(more, this.#bytes) : first === undefined ? Buffer.alloc(0) : this.#owned ? first : Buffer.concat([first], this.#bytes);
    return { status: statusCode, headers, body };
  }

  #keptHeaders(): Record<string, string | readonly string[]> {
    const out: Record<string, string | readonly string[]> = {};
    const head = this.#headHeaders;
    // The names set on the response, read once: then a `getHeader` only for those kept,
    // not one per kept name (a dozen by default): -3.4 (-5.2 to -0.1) µs a request on
    // node:http in-process (`bench/server/in-process.ts`).
    const { res } = this;
    const set = readProperty<ServerResponse['getHeaderNames']>(res, 'getHeaderNames').call(res);
    for (const name of this.#keepHeaders) {
      const value = (head === undefined ? undefined : headValue(head, name)) ?? (set.includes(name) ? readProperty<ServerResponse['getHeader']>(res, 'getHeader').call(res, name) : undefined);
      if (value === undefined) continue;
      out[name] = Array.isArray(value) ? value.map(String) : String(value);
    }
    return out;
  }
}

interface FrozenHead {
  readonly status: number;
  readonly message: string | undefined;
  /** The response's own properties the freeze replaced (undefined: it had none). */
  readonly saved: ReadonlyArray<[string, PropertyDescriptor | undefined]>;
  readonly http2: boolean;
}

/** What changes a head, with the verb of Node's error for it. */
const FROZEN_METHODS: ReadonlyArray<[string, string]> = [
  ['setHeader', 'set'],
  ['appendHeader', 'append'],
  ['removeHeader', 'remove'],
  ['setHeaders', 'set'],
];

/** The error Node throws on a change to a head that went out (its own class is not exported). */
function headersSentError(verb: string, http2: boolean): Error {
  return http2
    ? Object.assign(new Error('Response has already been initiated.'), { code: 'ERR_HTTP2_HEADERS_SENT' })
    : Object.assign(new Error(`Cannot ${verb} headers after they are sent to the client`), { code: 'ERR_HTTP_HEADERS_SENT' });
}

type Transport = { destroy(error?: Error): unknown };

/**
 * The connections whose destroy waits for a held end, with whether one was asked for:
 * a socket on HTTP/1, a stream on HTTP/2 (where `req.socket.destroy()` ends the stream).
 * `holds`: under two guards the inner one's end, let go, is held by the outer one before
 * the inner one is done; the destroy waits for the last.
 */
const heldTransports = new Map<Transport, { holds: number; destroy: boolean; error: Error | undefined }>();
/**
 * The connections whose `destroy` is wrapped by `holdDestroys`, and those by `watchCuts`:
 * kept apart from the wrappers themselves, as each of the two wraps the other's on a
 * keep-alive socket (a mark on the outer wrapper alone made both wrap again on every
 * request, until a destroy of the socket overflowed the stack).
 */
const deferringTransports = new WeakSet<Transport>();
const watchedSockets = new WeakSet<Transport>();

function transportOf(res: ServerResponse): Transport | undefined {
  return readProperty<Transport | undefined>(res, 'stream') ?? readProperty<Transport | null>(res, 'socket') ?? undefined;
}

/**
 * Until `releaseDestroys`, a destroy of `transport` is only noted. Its `destroy` is
 * wrapped once (a socket serves many requests): the wrapper defers only while held.
 */
function holdDestroys(transport: Transport): void {
  if (!deferringTransports.has(transport)) {
    deferringTransports.add(transport);
    const destroy = transport.destroy;
    const deferring = function (this: Transport, error?: Error): unknown {
      const held = heldTransports.get(this);
      if (held === undefined) return destroy.call(this, error);
      if (peerGone(this, error)) {
        // Nothing will go out on it: its entry must not outlive it when the store never answers.
        heldTransports.delete(this);
        return destroy.call(this, error);
      }
      held.destroy = true;
      held.error ??= error;
      return this;
    };
    transport.destroy = deferring;
  }
  const held = heldTransports.get(transport);
  if (held === undefined) heldTransports.set(transport, { holds: 1, destroy: false, error: undefined });
  else held.holds++;
}

/**
 * The peer reset the connection (a system error: ECONNRESET, EPIPE), closed its side of
 * a socket, or cancelled its HTTP/2 stream (closed before we ended it): the held end can
 * no longer reach it, and a store that never answers would keep it open for ever.
 */
function peerGone(transport: Transport, error: Error | undefined): boolean {
  if ((error as { syscall?: unknown } | undefined)?.syscall !== undefined) return true;
  return transport instanceof Socket ? transport.readableEnded : (transport as { closed?: unknown }).closed === true;
}

/**
 * Tells `capture` when its connection is destroyed while the caller is still there: by
 * the handler (`res.destroy()`, with an error or not, which destroys it; its
 * `res.socket.destroy()`), or by the server around it (its socket timeout, Express's
 * final handler after an error), not by the caller's reset or hang-up (`peerGone`),
 * after which the handler may still end and its answer be stored. On HTTP/1 the socket's
 * `destroy` is wrapped once (a socket serves many requests) and finds the response it
 * is answering; on HTTP/2 the stream is the request's own (`res.destroy()` and the
 * compatibility socket's `destroy` both destroy it).
 */
function watchCuts(res: ServerResponse, capture: ResponseCapture): void {
  const transport = transportOf(res);
  if (transport === undefined) return;
  const destroy = transport.destroy;
  // The stream of HTTP/2's compatibility API; HTTP/1's connection may be any stream, not only a net.Socket.
  if (readProperty<Transport | undefined>(res, 'stream') !== undefined) {
    transport.destroy = function (this: Transport, error?: Error): unknown {
      if (!peerGone(this, error)) capture.connectionCut();
      return destroy.call(this, error);
    };
    return;
  }
  if (watchedSockets.has(transport)) return;
  watchedSockets.add(transport);
  transport.destroy = function (this: Transport, error?: Error): unknown {
    const answering = (this as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (answering != null && !peerGone(this, error)) activeCapture(answering)?.connectionCut();
    return destroy.call(this, error);
  };
}

/**
 * Notes a destroy of `res` (error: the first argument) while its end is held, to be made
 * once it went out; false when nothing is held.
 */
function deferDestroy(res: ServerResponse, error: unknown): boolean {
  if (heldTransports.size === 0) return false;
  const transport = transportOf(res);
  const held = transport === undefined ? undefined : heldTransports.get(transport);
  if (held === undefined) return false;
  held.destroy = true;
  held.error ??= error instanceof Error ? error : undefined;
  return true;
}

const DEFERS_RESPONSE = Symbol('submit-once deferred response destroy');

/**
 * For a response without the layer (plain node:http, HTTP/2): its `destroy`, wrapped on
 * it while its end is held (left in place after: it defers only while held).
 */
function deferResponseDestroy(res: ServerResponse): void {
  const destroy = res.destroy as ServerResponse['destroy'] & { [DEFERS_RESPONSE]?: true };
  if (destroy[DEFERS_RESPONSE] === true) return;
  const deferring = function (this: ServerResponse, error?: Error): ServerResponse {
    return deferDestroy(this, error) ? this : destroy.call(this, error);
  } as ServerResponse['destroy'] & { [DEFERS_RESPONSE]?: true };
  deferring[DEFERS_RESPONSE] = true;
  res.destroy = deferring;
}

/** The held end went out: a destroy asked for meanwhile is made once its bytes are written. */
function releaseDestroys(res: ServerResponse, transport: Transport): void {
  const held = heldTransports.get(transport);
  if (held === undefined || --held.holds > 0) return;
  heldTransports.delete(transport);
  if (!held.destroy) return;
  const destroy = (): void => void transport.destroy(held.error);
  if (res.writableFinished) return destroy();
  res.once('finish', destroy);
  res.once('close', destroy);
}

/**
 * A chunk Node throws on (`res.end(order)`: an object): neither a string nor bytes. A
 * falsy one is none to `end` (and thrown on by `write`, after `#keep` skipped it).
 */
function refused(chunk: unknown): boolean {
  return !!chunk && typeof chunk !== 'string' && typeof chunk !== 'function' && !(chunk instanceof Uint8Array);
}

/**
 * The encoding a string chunk is written in: Node's streams take 'buffer' (the encoding
 * they give chunks that are bytes) as utf8, where `Buffer.from` throws on it.
 */
function stringEncoding(encoding: unknown): BufferEncoding {
  return typeof encoding !== 'string' || encoding === 'buffer' ? 'utf8' : (encoding as BufferEncoding);
}

/** The bytes `end(chunk, encoding)` sends. */
function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, stringEncoding(encoding));
  return !chunk || typeof chunk === 'function' ? 0 : (chunk as Uint8Array).byteLength;
}

/** The value `writeHead` was given last for `name` (lower-cased), as a Map of them would hold. */
function headValue(head: unknown[], name: string): OutgoingHttpHeaders[string] {
  for (let i = head.length - 2; i >= 0; i -= 2) if (head[i] === name) return head[i + 1] as OutgoingHttpHeaders[string];
  return undefined;
}
