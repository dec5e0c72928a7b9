/**
 * `submit-once/axios`: installs the engine on an axios instance by wrapping its adapter,
 * below the interceptor chain. That is where single-flight and same-key retries can be
 * correct: a request re-entering the chain (axios-retry, a user's own retry) arrives with
 * its key already on the headers and keeps it.
 *
 * @example
 * import axios from 'axios'
 * import { installIdempotency } from 'submit-once/axios'
 * const api = axios.create({ baseURL: '/api' })
 * const uninstall = installIdempotency(api, { scope: () => session.userId })
 * await api.post('/orders', cart) // carries Idempotency-Key, retried safely, sent once
 */
import { getAdapter } from 'axios';
import type { AxiosAdapter, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { AmbiguousOutcomeError } from './core/errors.js';
import { formatKey, parseKey, type KeyFormat } from './core/key.js';
import type { SubmitterOptions } from './core/options.js';
import type { RetryInput } from './core/retry.js';
import { createSubmitter, type Submitter } from './core/submitter.js';

export interface AxiosIdempotencyOptions extends SubmitterOptions {
  /** Header name; default `Idempotency-Key`. */
  header?: string;
  /** Methods that get a key; default POST and PATCH. */
  methods?: readonly string[];
  /** `token` (bare UUID; default) or the draft's quoted `sf-string`. */
  keyFormat?: KeyFormat;
  /** Share one engine with other adapters (the fetch wrapper, the React hook). */
  submitter?: Submitter;
}

/** Per-request options, under `idempotency` in the request config. */
export interface AxiosRequestIdempotency {
  key?: string;
  scope?: string;
  retry?: RetryInput;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** submit-once options for this request; `false` sends it untouched. */
    idempotency?: AxiosRequestIdempotency | false;
  }
}

const INSTALLED = Symbol.for('submit-once.axios.installed');

type WrappedAdapter = AxiosAdapter & { [INSTALLED]?: () => void };

/** Installs submit-once on `instance`; returns a function that restores the previous adapter. */
export function installIdempotency(instance: AxiosInstance, options: AxiosIdempotencyOptions = {}): () => void {
  const current = instance.defaults.adapter as WrappedAdapter | undefined;
  // Installing twice (hot module reload) must not nest two engines: replace the first.
  current?.[INSTALLED]?.();
  const previous = instance.defaults.adapter;
  const header = options.header ?? 'Idempotency-Key';
  const methods = new Set((options.methods ?? ['POST', 'PATCH']).map((m) => m.toUpperCase()));
  const keyFormat = options.keyFormat ?? 'token';
  const submitter = options.submitter ?? createSubmitter(options);

  const adapter: WrappedAdapter = async (config: InternalAxiosRequestConfig) => {
    const send = getAdapter(previous, config);
    const method = (config.method ?? 'get').toUpperCase();
    const own = config.idempotency;
    if (own === false || !methods.has(method)) return send(config);
    const existing = config.headers.get(header);
    const callerSignal = config.signal instanceof AbortSignal ? config.signal : undefined;
    try {
      return await submitter.submit<AxiosResponse>({
        intent: {
          method,
          url: instance.getUri(config),
          body: config.data,
          ...(own?.scope === undefined ? {} : { scope: own.scope }),
        },
        key: own?.key ?? (typeof existing === 'string' && existing !== '' ? parseKey(existing) : undefined),
        signal: callerSignal,
        retry: own?.retry,
        // The key goes on this config's own headers, so `error.config` (what axios-retry
        // resends) carries it back in.
        send: ({ key, signal }) => {
          config.headers.set(header, formatKey(key, keyFormat));
          return send({ ...config, signal });
        },
        // axios transforms `response.data` in place per request: each caller gets its own.
        share: (response) => ({ ...response, config }),
      });
    } catch (error) {
      // axios users (and axios-retry) expect an AxiosError: hand back the last one.
      if (error instanceof AmbiguousOutcomeError && error.cause !== undefined) throw error.cause;
      throw error;
    }
  };

  const uninstall = () => {
    if (instance.defaults.adapter === adapter) instance.defaults.adapter = previous;
  };
  adapter[INSTALLED] = uninstall;
  instance.defaults.adapter = adapter;
  return uninstall;
}
