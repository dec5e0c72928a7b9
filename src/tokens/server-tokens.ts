/**
 * A `tokenProvider` for token mode: one-time keys from the server's token endpoint (the
 * verifier's `GET /__submit-once/token`, or a route of yours answering
 * `issueToken(req)`), kept one ahead so a click takes a token already in the page.
 */
import { isValidKey } from '../protocol/key-grammar.js';
import { InvalidOptionsError } from '../core/errors.js';
import { TokenUnavailableError } from './token-unavailable-error.js';

export interface ServerTokensOptions {
  /** The token endpoint; it answers `{ token, expiresAt, expiresIn }` (`expiresIn` optional). */
  url: string;
  /** Sent with every token request (credentials, headers): the token is bound to the caller they name. */
  init?: RequestInit;
  /** A held token this close to its expiry (ms) is dropped for a fresh one. Default 30 000. */
  margin?: number;
  /** Fetch the first token at once (page load). Default true; else on the first `prefetch()` or take. */
  eager?: boolean;
  /**
   * A token request not answered (its body included) within this many ms is given up
   * (aborted): the take fails with `TokenUnavailableError`, the next asks again. Default
   * 10 000; `Infinity`: no limit.
   */
  timeout?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Takes a token (the one held, else a fresh one); `prefetch()` starts getting the next ahead. */
export interface TokenSource {
  (): Promise<string>;
  prefetch(): void;
}

interface Issued {
  token: string;
  expiresAt: number;
  expiresIn?: number;
}

/**
 * @example
 * const tokens = serverTokens({ url: '/__submit-once/token' })
 * const api = createIdempotentFetch({ tokenProvider: tokens })
 */
export function serverTokens(options: ServerTokensOptions): TokenSource {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const margin = options.margin ?? 30_000;
  let ahead: Promise<Issued> | undefined;

  const timeout = options.timeout ?? 10_000;
  if (!(timeout > 0)) throw new InvalidOptionsError('timeout', `expected a number > 0, got ${String(timeout)}`);

  const ask = async (signal: AbortSignal): Promise<Issued> => {
    // Expiry on this page's clock: the server's `expiresAt` is on its own, off by their skew
    // (a page behind kept tokens the server had expired). Counted from the ask: never late.
    const asked = now();
    let response: Response;
    try {
      response = await fetchFn(options.url, { cache: 'no-store', ...options.init, method: 'GET', signal });
    } catch (error) {
      throw new TokenUnavailableError('the token endpoint could not be reached', { cause: error });
    }
    const body = response.ok ? ((await response.json().catch(() => undefined)) as Partial<Issued> | undefined) : undefined;
    if (!body || !isValidKey(body.token) || typeof body.expiresAt !== 'number') {
      throw new TokenUnavailableError(`the token endpoint answered ${response.status} without a token`);
    }
    return { token: body.token, expiresAt: typeof body.expiresIn === 'number' ? asked + body.expiresIn : body.expiresAt };
  };

  // A token request that never answered held the take, and the submission, for good (a
  // caller without a signal of its own never settled). Raced as well as aborted: a fetch of
  // the app's (the `fetch` option) need not heed the signal.
  const request = (): Promise<Issued> => {
    const controller = new AbortController();
    const own = options.init?.signal;
    let stop!: (detail: string) => void;
    const givenUp = new Promise<never>((_, reject) => {
      stop = (detail) => {
        controller.abort();
        reject(new TokenUnavailableError(detail));
      };
    });
    const aborted = (): void => stop('the token request was aborted');
    // Past a timer's range (Infinity: none) a timer would fire at once, failing every take.
    const timer = timeout < 2 ** 31 ? setTimeout(stop, timeout, `the token endpoint did not answer within ${timeout} ms`) : undefined;
    if (own?.aborted) aborted();
    else own?.addEventListener('abort', aborted);
    return Promise.race([ask(controller.signal), givenUp]).finally(() => {
      clearTimeout(timer);
      own?.removeEventListener('abort', aborted);
    });
  };

  const prefetch = (): void => {
    if (ahead) return;
    const next = request();
    ahead = next;
    // A failed prefetch is forgotten, so the next take asks again (and reports the failure).
    next.catch(() => {
      if (ahead === next) ahead = undefined;
    });
  };

  const take = (async () => {
    prefetch();
    const held = ahead!;
    ahead = undefined;
    let issued = await held;
    // Held too long (a tab left open): a fresh one, used whatever its margin.
    if (issued.expiresAt - margin <= now()) issued = await request();
    // The next is on its way while this one is used: the next click waits on nothing either.
    prefetch();
    return issued.token;
  }) as TokenSource;
  take.prefetch = prefetch;
  if (options.eager ?? true) prefetch();
  return take;
}
