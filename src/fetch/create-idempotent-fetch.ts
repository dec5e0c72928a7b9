/**
 * `createIdempotentFetch`: wraps a `fetch` so that each non-idempotent request goes
 * through the engine (one key per intent, shared in-flight requests, same-key retries).
 */
import { InvalidRequestError, UnreplayableBodyError } from '../core/errors.js';
import type { Intent } from '../core/fingerprint.js';
import type { HeldRequest } from '../core/outbox-port.js';
import { signalOf } from '../core/submitter.js';
import { formBytes, formOf, isFormData } from '../http/form-bytes.js';
import { resolveTransport, type RequestIdempotency, type TransportOptions } from '../http/resolve-transport.js';

export interface IdempotentFetchOptions extends TransportOptions {
  /** The fetch to wrap; default the global one, looked up at call time. */
  fetch?: typeof fetch;
}

export interface IdempotentRequestInit extends RequestInit {
  /** `false` sends this request untouched. */
  idempotency?: RequestIdempotency | false;
}

// `Request | string`, not the DOM lib's `RequestInfo`: Node projects without the DOM lib use this type too.
export type IdempotentFetch = (input: Request | string | URL, init?: IdempotentRequestInit) => Promise<Response>;

export function createIdempotentFetch(options: IdempotentFetchOptions = {}): IdempotentFetch {
  const { header, guards, format, existingKey, submitter } = resolveTransport(options);
  const baseFetch = (input: Request | string | URL, init?: RequestInit) => (options.fetch ?? globalThis.fetch)(input, init);

  return async function idempotentFetch(input, init) {
    const { idempotency, ...requestInit } = init ?? {};
    const request = input instanceof Request ? input : undefined;
    const method = (requestInit.method ?? request?.method ?? 'GET').toUpperCase();
    if (idempotency === false || !guards(method)) return baseFetch(input, init === undefined ? undefined : requestInit);

    const url = request ? request.url : String(input);
    if (requestInit.body instanceof ReadableStream) throw new UnreplayableBodyError();
    // A Request's body is read once for the fingerprint; each attempt sends a fresh clone.
    // A multipart one made from a FormData (ky sends one so) is taken as that form: as
    // bytes, its random boundary made every Request of the same form another intent.
    const own = request && requestInit.body === undefined ? request : undefined;
    const template = request && templateOf(request, method, requestInit.body);
    const type = own?.headers.get('content-type') ?? '';
    const read = own && (await readBody(own));
    const body: unknown = read ? (/^multipart\/form-data/i.test(type) && (await formOf(read, type))) || read : requestInit.body;
    const form = isFormData(body) ? await formBytes(body) : undefined;
    // One Headers for the whole submission (every attempt sends the same key): fetch copies
    // it. Without the caller's headers, none: the key alone goes as a plain object, as a
    // plain fetch would send it (a Headers made, read and set cost a cold click ~30 µs).
    // `init.headers` replaces a Request's headers, as in fetch (the Request constructor): a
    // header the caller left out of them (an Authorization, an If-Match) is not sent.
    const headers = request || form || requestInit.headers !== undefined ? new Headers(requestInit.headers ?? request?.headers) : undefined;
    const withKey = (key: string): HeadersInit => {
      if (!headers) return { [header]: format(key) };
      headers.set(header, format(key));
      if (form) headers.set('content-type', form(key).type);
      return headers;
    };
    /** What an attempt under `key` sends: a form as the same bytes every time (form-bytes.ts). */
    const sent = (key: string, signal?: AbortSignal): RequestInit => ({ ...requestInit, method, headers: withKey(key), signal, ...(form && { body: form(key) }) });
    const ifMatch = headers?.get('if-match') ?? undefined;
    const intent: Intent = {
      method,
      url,
      body,
      ...(idempotency?.scope === undefined ? {} : { scope: idempotency.scope }),
      ...(ifMatch === undefined ? {} : { ifMatch }),
    };

    const callerSignal = requestInit.signal ?? request?.signal ?? undefined;
    return await submitter.submit<Response>({
      intent,
      key: idempotency?.key ?? existingKey(headers?.get(header)),
      signal: callerSignal,
      retry: idempotency?.retry,
      share: shareResponse,
      wire: responseWire,
      // Unread, its connection stays busy (undici: until garbage collection).
      discard: (response) => void response.body?.cancel().catch(() => undefined),
      send: (attempt) => {
        const attemptInit = sent(attempt.key, signalOf(attempt));
        return baseFetch(template ? new Request(template.clone(), attemptInit) : url, template ? undefined : attemptInit);
      },
      queue: idempotency?.queue,
      held: { request: (key) => ({ method, url, headers: new Headers(withKey(key)), body: form ? form(key) : body, ...modesOf(requestInit, request), keyHeader: header }), receive: (answer) => answer },
    });
  };
}

/** The request's fetch modes, for the outbox to replay with (`init`'s win, as in fetch). */
function modesOf(init: RequestInit, request: Request | undefined): Pick<HeldRequest, (typeof MODES)[number]> {
  return Object.fromEntries(MODES.map((name) => [name, init[name] ?? request?.[name]]));
}

const MODES = ['credentials', 'mode', 'redirect', 'referrerPolicy', 'cache', 'integrity'] as const;

type Wired = [status: number, statusText: string, headers: [string, string][], body: ArrayBuffer];

/** Answers received from another tab, with what they were made from. */
const fromWire = new WeakMap<Response, Wired>();

function fromBytes([status, statusText, headers, body]: Wired): Response {
  // The Response constructor refuses a body, even empty, with these statuses. It copies the bytes.
  return new Response([101, 204, 205, 304].includes(status) ? null : body, { status, statusText, headers });
}

/** A tab waiting on the same intent receives the Response as its status, headers and body. */
const responseWire = {
  encode: async (response: Response): Promise<Wired> => [response.status, response.statusText, [...response.headers], await response.arrayBuffer()],
  decode: (wire: unknown) => {
    const response = fromBytes(wire as Wired);
    fromWire.set(response, wire as Wired);
    return response;
  },
};

/**
 * Each caller's own copy of a shared answer. An answer from another tab is made again from
 * its bytes (the constructor copies them): in Chromium, teeing a body made from bytes costs
 * about 1 ms (a script stream), a network body's tee about 45 µs (docs/client-cost.md).
 */
function shareResponse(response: Response): Response {
  const wired = fromWire.get(response);
  return wired ? fromBytes(wired) : response.clone();
}

/**
 * The Request each attempt is cloned from. One whose body was read (or is being read) can
 * still be sent with a body of `init`'s, as fetch sends it; without one it cannot be sent.
 */
function templateOf(request: Request, method: string, body: RequestInit['body']): Request {
  try {
    return request.clone();
  } catch (cause) {
    if (body !== undefined && body !== null) return new Request(request, { method, body });
    throw new InvalidRequestError('the Request body was already read (bodyUsed): pass a fresh Request, or the body in init', { cause });
  }
}

async function readBody(request: Request): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await request.clone().arrayBuffer());
  } catch (cause) {
    throw new InvalidRequestError('the Request body could not be read', { cause });
  }
}

let defaultFetch: IdempotentFetch | undefined;

/** `createIdempotentFetch()` with the defaults, made on first use (no work at import). */
export const idempotentFetch: IdempotentFetch = (input, init) => {
  defaultFetch ??= createIdempotentFetch();
  return defaultFetch(input, init);
};
