/**
 * The page the token and If-Match specs drive: the SDK from `src/` against the real
 * verifier on the same origin. `window.tokensPage` is its API for `page.evaluate`.
 */
import { guardButton } from '../../src/dom/index.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createIfMatchFetch, PreconditionFailedError } from '../../src/preconditions/index.js';
import { serverTokens } from '../../src/tokens/index.js';

export interface Answer {
  status?: number;
  replayed?: boolean;
  body?: unknown;
  error?: { name: string; code?: string; etag?: string; current?: unknown };
}

export interface PageSetup {
  /** Fetch the first token on setup (page load). */
  eager?: boolean;
  /** The button claims its key (and so takes its token) on pointerdown and focus. */
  prepare?: boolean;
  /** Sent with token requests and orders: the verifier's principal is a hash of it. */
  authorization?: string;
}

const TOKEN_PATH = '/__submit-once/token';

async function answerOf(run: () => Promise<Response>): Promise<Answer> {
  try {
    const response = await run();
    const text = await response.text();
    return { status: response.status, replayed: response.headers.get('idempotent-replayed') === 'true', body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch (error) {
    const e = error as Error & { code?: string };
    const details = e instanceof PreconditionFailedError ? { etag: e.etag, current: e.current } : {};
    return { error: { name: e.name, ...(e.code === undefined ? {} : { code: e.code }), ...details } };
  }
}

const json = (authorization: string | undefined): Record<string, string> => ({
  'content-type': 'application/json',
  ...(authorization === undefined ? {} : { authorization }),
});

function setup(options: PageSetup = {}) {
  const headers = json(options.authorization);
  const tokens = serverTokens({ url: TOKEN_PATH, eager: options.eager ?? true, init: { headers: options.authorization ? { authorization: options.authorization } : {} } });
  const api = createIdempotentFetch({ tokenProvider: tokens });
  // Both patterns at once: the update's key is a server token, its If-Match the version read.
  const edit = createIfMatchFetch(createIdempotentFetch({ tokenProvider: tokens }));
  const clicks: Answer[] = [];
  const button = document.querySelector<HTMLButtonElement>('#order')!;
  guardButton(
    button,
    ({ key, signal }) => fetch('/orders', { method: 'POST', body: JSON.stringify({ item: 'tea' }), headers: { ...headers, 'Idempotency-Key': key }, signal }),
    {
      intent: 'order',
      tokenProvider: tokens,
      prepare: options.prepare ?? false,
      onSuccess: (response) => void answerOf(() => Promise.resolve(response)).then((a) => clicks.push(a)),
      onError: (error) => void answerOf(() => Promise.reject(error)).then((a) => clicks.push(a)),
    },
  );
  return {
    /** Takes a token the way the SDK does. */
    token: () => tokens(),
    /** A POST through the fetch adapter in token mode. */
    order: (body: unknown) => answerOf(() => api('/orders', { method: 'POST', body: JSON.stringify(body), headers })),
    /** A POST with a key of the caller's choosing (a forged or foreign token), as any client could send. */
    orderWithKey: (body: unknown, key: string, authorization?: string) =>
      answerOf(() => fetch('/orders', { method: 'POST', body: JSON.stringify(body), headers: { ...json(authorization ?? options.authorization), 'Idempotency-Key': key } })),
    clicks: () => clicks,
    read: (url: string) => answerOf(() => edit(url)),
    update: (url: string, body: unknown) => answerOf(() => edit(url, { method: 'PATCH', body: JSON.stringify(body), headers })),
  };
}

export type TokensPage = ReturnType<typeof setup>;

declare global {
  interface Window {
    tokensPage: TokensPage;
    setupTokensPage: (options?: PageSetup) => void;
  }
}

window.setupTokensPage = (options) => {
  window.tokensPage = setup(options);
};
