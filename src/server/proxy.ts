import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { KEY_HEADER } from '../protocol/index.js';
import type { IdempotentRequest } from './middleware.js';
import { InvalidOptionsError } from './invalid-options-error.js';
import { DEFAULT_MAX_RUN_MS } from './options.js';
import { answerLeavesOutcomeUnknown, UncertainOutcomeError } from './outcome.js';
import { sendProblem } from './respond.js';
import { BodyTooLargeError, rawBodyOf } from './request-body.js';

/** Sent upstream on a recovery run: an earlier run with this key may have taken effect. */
export const RECOVERY_HEADER = 'idempotency-recovery';

// Hop-by-hop headers describe one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  // Only the verifier says whether a run is a recovery; a client must not be able to.
  RECOVERY_HEADER,
]);

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const KEY_LOWER = KEY_HEADER.toLowerCase();
// Set by the proxy from the Host the caller sent; a client's own is not passed on.
const FORWARDED_HOST = 'x-forwarded-host';

/** Header names a Connection header lists: hop-by-hop too (RFC 9110 §7.6.1). */
function connectionNamed(connection: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const token of (connection ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') names.add(name);
  }
  return names;
}

function forEachLine(raw: readonly string[], visit: (name: string, lower: string, value: string) => void): void {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    visit(name, name.toLowerCase(), raw[i + 1] as string);
  }
}

/** How long a connection to the upstream may take by default (as Envoy's `connect_timeout`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface ProxyOptions {
  /** How long the upstream may stay silent once connected. Default 5 minutes. */
  readonly timeoutMs?: number;
  /** How long connecting (DNS, TCP, TLS) may take; at most `timeoutMs`. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /**
   * How far the upstream's answer is read ahead of a caller that reads it slowly: the
   * middleware's `maxResponseBytes`, since that much is held for the replay anyway. Default 1 MiB.
   */
  readonly readAheadBytes?: number;
}

/**
 * `upstream` as the proxy sends to it: an http(s) URL, whose origin and path are all it
 * uses. Anything else would fail every request (another scheme) or be dropped without a
 * word (credentials, a query, a fragment): refused, without echoing a credential.
 */
function upstreamUrl(upstream: string): URL {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new InvalidOptionsError('upstream', 'an http(s) URL such as http://127.0.0.1:3000, got a string that is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionsError('upstream', `an http(s) URL such as http://127.0.0.1:3000, got the scheme ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidOptionsError('upstream', "no credentials (user:password@): the caller's Authorization header is forwarded");
  }
  if (url.search !== '' || url.hash !== '' || upstream.includes('?') || upstream.includes('#')) {
    throw new InvalidOptionsError('upstream', "no query or fragment: each request's own query is forwarded");
  }
  return url;
}

/**
 * A handler that forwards every request to `upstream` (e.g. `http://127.0.0.1:3000`) and
 * streams the answer back. Behind the middleware the upstream sees each key's request
 * once, with the key in `Idempotency-Key` and, on a recovery run, `Idempotency-Recovery: true`.
 *
 * Only a failure before the connection was made, or a connection not made within
 * `connectTimeoutMs`, is known to have had no effect (502
 * `upstream-unavailable`, the key is released). Once connected, the request may have been
 * delivered: a reset, hang-up or missing answer then rejects with `UncertainOutcomeError`,
 * so the key turns unknown instead of running again. So does an upstream's 502 or 504 (a
 * gateway that lost the app or gave up on it), which still goes to its caller as it came.
 */
export function proxyTo(upstream: string, options: ProxyOptions = {}): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // Past the run limit the claim is no longer renewed: an upstream silent that long gets
  // its caller an answer (unknown) rather than none at all.
  const timeoutMs = options.timeoutMs ?? DEFAULT_MAX_RUN_MS;
  // Node starts a request's timeout only once its socket has connected, and the kernel
  // gives up on a handshake nobody answers after about two minutes: without a bound of its
  // own, a firewall dropping packets held the key and its caller that long.
  const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs);
  const readAheadBytes = options.readAheadBytes ?? 1024 * 1024;
  const base = upstreamUrl(upstream);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  // A fresh connection per request: a stale keep-alive socket reset by the upstream would
  // fail after "connecting" and turn a request that never arrived into an unknown outcome.
  const agent = base.protocol === 'https:' ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  const basePath = base.pathname.replace(/\/$/, '');

  return async (req, res) => {
    let body: Buffer;
    try {
      body = await rawBodyOf(req, MAX_BODY_BYTES);
    } catch (error) {
      // Only an unkeyed body gets here unread (the middleware read a keyed one): too large
      // is the caller's to know, not a 500; nothing went upstream.
      if (!(error instanceof BodyTooLargeError)) throw error;
      sendProblem(res, 'body-too-large', `The request body is over the proxy's limit of ${MAX_BODY_BYTES} bytes.`);
      return;
    }
    const run = (req as IdempotentRequest).idempotency;
    // Header lines as received (req.headers joins repeated ones and drops repeats of some).
    const headers = ['Host', base.host];
    const dropped = connectionNamed(req.headers.connection);
    let keySent = false;
    forEachLine(req.rawHeaders, (name, lower, value) => {
      if (HOP_BY_HOP.has(lower) || dropped.has(lower) || lower === FORWARDED_HOST) return;
      if (run !== undefined && lower === KEY_LOWER) {
        // The upstream can dedupe by key itself (the last line of defence on a recovery
        // run): the parsed key, once, in place of the line as sent.
        if (!keySent) headers.push(name, run.key);
        keySent = true;
        return;
      }
      headers.push(name, value);
    });
    if (run !== undefined && !keySent) headers.push(KEY_HEADER, run.key);
    if (run?.recovery === true) headers.push(RECOVERY_HEADER, 'true');
    if (body.length > 0) headers.push('content-length', String(body.length));
    if (req.headers.host !== undefined) headers.push(FORWARDED_HOST, req.headers.host);

    await new Promise<void>((resolve, reject) => {
      let connected = false;
      let failed = false;
      const copied: string[] = [];
      const uncertain = (what: string, cause?: unknown): void => {
        failed = true;
        // The upstream's headers must not dress up the outcome-unknown problem that follows
        // (the middleware's own, CORS, stay).
        if (!res.headersSent) for (const name of copied) res.removeHeader(name);
        reject(new UncertainOutcomeError(`the upstream ${base.origin} ${what} after the request may have been delivered`, { cause }));
      };
      const outgoing = send(
        { protocol: base.protocol, hostname: base.hostname, port: base.port, method: req.method, path: basePath + (req.url ?? '/'), headers, agent },
        (upstreamRes) => {
          res.statusCode = upstreamRes.statusCode ?? 502;
          // A gateway between here and the app lost it or gave up waiting (502, 504): the app
          // may have acted, as when the upstream goes silent here. The caller gets the answer
          // as it came; freed, the key would send its retry to the app again. Another 5xx is
          // the app's own failure answer and follows releaseOn5xx.
          if (run !== undefined && (res.statusCode === 502 || res.statusCode === 504)) answerLeavesOutcomeUnknown(res);
          const droppedOut = connectionNamed(upstreamRes.headers.connection);
          const lines = new Map<string, { readonly name: string; readonly values: string[] }>();
          forEachLine(upstreamRes.rawHeaders, (name, lower, value) => {
            // The body goes back byte for byte, so its length holds; for HEAD it is the
            // only size the caller gets (dropped, Node answered without one).
            if ((HOP_BY_HOP.has(lower) && lower !== 'content-length') || droppedOut.has(lower)) return;
            const line = lines.get(lower);
            if (line === undefined) lines.set(lower, { name, values: [value] });
            else line.values.push(value);
          });
          for (const { name, values } of lines.values()) {
            // An array goes out as one line per value, as the upstream sent them.
            res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
            copied.push(name);
          }
          // An answer the replay can hold is read at once, so it is stored however slowly the
          // caller reads; past that, only as fast as the caller reads (it was all held in
          // the caller's send buffer). A caller gone reads nothing: the rest is read to its
          // end, which completes the run.
          upstreamRes.on('data', (chunk: Buffer) => {
            if (!res.write(chunk) && !res.destroyed && res.writableLength > readAheadBytes) upstreamRes.pause();
          });
          res.on('drain', () => upstreamRes.resume());
          res.once('close', () => upstreamRes.resume());
          upstreamRes.on('end', () => {
            // A reset mid-body of a close-delimited answer (no length, not chunked) ends it
            // too, a tick after the error: ended here, the cut part would be stored as whole.
            if (failed) return;
            res.end();
            resolve();
          });
          // The upstream answered but its body broke off: what it did is not known.
          upstreamRes.on('error', (error) => uncertain('broke off its answer', error));
          upstreamRes.on('aborted', () => uncertain('broke off its answer'));
        },
      );
      outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer for ${timeoutMs} ms`)));
      outgoing.on('socket', (socket) => {
        // A reused socket would already be connected; with keepAlive off there is none.
        // For TLS, "connected" is after the handshake: before it nothing was delivered, so
        // giving up then is a 502 and frees the key.
        if (!socket.connecting) {
          connected = true;
          return;
        }
        const timer = setTimeout(() => outgoing.destroy(new Error(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
        socket.once(base.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          connected = true;
          clearTimeout(timer);
        });
        socket.once('close', () => clearTimeout(timer));
      });
      outgoing.on('error', (error) => {
        if (connected) {
          uncertain(`failed (${error.message})`, error);
          return;
        }
        sendProblem(res, 'upstream-unavailable', `The upstream ${base.origin} could not be reached: ${error.message}.`);
        resolve();
      });
      outgoing.end(body);
    });
  };
}
