/**
 * `installIdempotency`: the engine installed on an axios instance by wrapping its adapter,
 * below the interceptor chain. That is where single-flight and same-key retries can be
 * correct: a request re-entering the chain (axios-retry, a user's own retry) arrives with
 * its key already on the headers and keeps it.
 */
import { Axios, AxiosError, getAdapter, isCancel } from 'axios';
import type { AxiosAdapter, AxiosInstance, AxiosRequestConfig, CancelToken, AxiosResponse, GenericAbortSignal, InternalAxiosRequestConfig } from 'axios';
import { AmbiguousOutcomeError } from '../core/errors.js';
import { signalOf } from '../core/submitter.js';
import { formBytes, isFormData } from '../http/form-bytes.js';
import { resolveTransport, type RequestIdempotency, type TransportOptions } from '../http/resolve-transport.js';

export type AxiosIdempotencyOptions = TransportOptions;

declare module 'axios' {
  interface AxiosRequestConfig {
    /** submit-once options for this request; `false` sends it untouched. */
    idempotency?: RequestIdempotency | false;
  }
}

const INSTALLED = Symbol.for('submit-once.axios.installed');

type WrappedAdapter = AxiosAdapter & { [INSTALLED]?: () => void };

/**
 * Installs submit-once on `instance`; returns a function that restores the previous adapter
 * and ejects the interceptor that guards per-request adapters.
 */
export function installIdempotency(instance: AxiosInstance, options: AxiosIdempotencyOptions = {}): () => void {
  const current = instance.defaults.adapter as WrappedAdapter | undefined;
  // Installing twice (hot module reload) must not nest two engines: replace the first.
  current?.[INSTALLED]?.();
  const previous = instance.defaults.adapter;
  const { header, guards, format, existingKey, submitter } = resolveTransport(options);
  // The URL by axios's own rules, over empty defaults: the config an adapter gets is already
  // merged with the instance's defaults, which `instance.getUri` would merge in again, at a
  // cost per request (see docs/client-cost.md).
  const urls = new Axios({});

  /** A request through the engine, sent by `inner` (a name, a list, a function: what axios takes). */
  const guarded = async (inner: AxiosRequestConfig['adapter'], config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const send = getAdapter(inner, config);
    const method = (config.method ?? 'get').toUpperCase();
    const own = config.idempotency;
    if (own === false || !guards(method)) return send(config);
    const form = isFormData(config.data) ? await formBytes(config.data) : undefined;
    /** The form as the same bytes under `key` (form-bytes.ts); its Content-Type goes on the headers. */
    const formFor = (key: string) => {
      const blob = form!(key);
      config.headers.set('Content-Type', blob.type);
      return blob;
    };
    const plain = config.signal instanceof AbortSignal && !config.cancelToken;
    const generic = plain ? undefined : followed(config.signal, config.cancelToken);
    const callerSignal = plain ? (config.signal as AbortSignal) : generic?.signal;
    try {
      return await submitter.submit<AxiosResponse>({
        intent: {
          method,
          // Most requests: a path or an http(s) URL with no baseURL or params, which axios sends
          // as it is. getUri merges the whole config again, on every request (docs/client-cost.md).
          url: !config.baseURL && !config.params && /^(\/(?!\/)|https?:\/\/)/i.test(config.url ?? '') ? config.url! : urls.getUri(config),
          body: config.data,
          ...(own?.scope === undefined ? {} : { scope: own.scope }),
          ...ifMatchOf(config),
        },
        key: own?.key ?? existingKey(headerText(config.headers.get(header))),
        signal: callerSignal,
        retry: own?.retry,
        // The key goes on this config's own headers, so `error.config` (what axios-retry
        // resends) carries it back in.
        send: (attempt) => {
          config.headers.set(header, format(attempt.key));
          const attemptSignal = signalOf(attempt);
          // A copy only to give an attempt its own signal or body; where nothing changes, axios's own config.
          const sent = send(attemptSignal === config.signal && !form ? config : { ...config, signal: attemptSignal, ...(form && { data: formFor(attempt.key) }) });
          if (attemptSignal === callerSignal) return sent;
          return sent.catch((error: unknown) => {
            // The engine's `timeout` aborted the attempt: axios calls that a CanceledError, which
            // callers (`if (axios.isCancel(e)) return`) take for their own cancel and drop
            // silently. Plain axios's timeout is an ECONNABORTED AxiosError: say that.
            if (isCancel(error) && attemptSignal?.aborted && !callerSignal?.aborted) {
              throw new AxiosError(String((attemptSignal.reason as Error | undefined)?.message), AxiosError.ECONNABORTED, config, (error as AxiosError).request);
            }
            throw error;
          });
        },
        queue: own?.queue,
        held: {
          request: (key) => {
            config.headers.set(header, format(key));
            const body: unknown = form ? formFor(key) : config.data;
            const headers = Object.entries(config.headers.toJSON()).map(([name, value]): [string, string] => [name, String(value)]);
            // As axios's XHR adapter: cookies to another origin only with withCredentials.
            return { method, url: urls.getUri(config), headers, body, credentials: config.withCredentials ? 'include' : undefined, keyHeader: header };
          },
          receive: (answer) => axiosResponseOf(answer, config),
        },
        // axios transforms `response.data` in place per request: each caller gets its own.
        share: (response) => ({ ...response, config }),
        // A tab waiting on this intent gets the same raw data, before axios transforms it
        // (dispatchRequest makes AxiosHeaders of the plain headers again).
        wire: {
          encode: ({ data, status, statusText, headers }) => ({ data, status, statusText, headers: { ...headers } }),
          decode: (wire) => ({ ...(wire as Pick<AxiosResponse, 'data' | 'status' | 'statusText' | 'headers'>), config }),
        },
      });
    } catch (error) {
      // axios users (and axios-retry) expect an AxiosError: hand back the last one.
      if (error instanceof AmbiguousOutcomeError && error.cause !== undefined) throw error.cause;
      throw error;
    } finally {
      generic?.release();
    }
  };

  const wrap = (inner: AxiosRequestConfig['adapter']): WrappedAdapter => Object.assign((config: InternalAxiosRequestConfig) => guarded(inner, config), { [INSTALLED]: uninstall });
  const adapter = wrap(previous);
  // A request's own `adapter` (`'fetch'`, a list, a mock) replaces the instance's default, and
  // the engine with it: it gets one around it too. Synchronous, so axios adds no async hop.
  // An adapter that is already an install's wrapper (a resend of `error.config`) is kept.
  const interceptor = instance.interceptors.request.use(
    (config) => {
      const own = config.adapter as WrappedAdapter | undefined;
      if (own && !own[INSTALLED] && config.idempotency !== false && guards((config.method ?? 'get').toUpperCase())) config.adapter = wrap(own);
      return config;
    },
    undefined,
    { synchronous: true },
  );
  function uninstall() {
    instance.interceptors.request.eject(interceptor);
    if (instance.defaults.adapter === adapter) instance.defaults.adapter = previous;
  }
  instance.defaults.adapter = adapter;
  return uninstall;
}

/**
 * The caller's signal and cancel token as one `AbortSignal` the engine and every attempt
 * follow. axios takes any `GenericAbortSignal` (a polyfill's, another realm's) and a
 * `CancelToken`, and its adapters honour both: left out, aborting or cancelling would stop
 * neither the retries nor the backoff (axios sends the next attempt before its cancelled
 * token rejects it).
 */
function followed(signal: GenericAbortSignal | undefined, token: CancelToken | undefined): { signal: AbortSignal; release(): void } | undefined {
  const listens = typeof signal?.addEventListener === 'function';
  if (!listens && !token) return undefined;
  const controller = new AbortController();
  const onAbort = () => controller.abort((signal as { reason?: unknown }).reason);
  const onCancel = (reason: unknown) => controller.abort(reason);
  if (signal?.aborted) onAbort();
  else if (listens) signal!.addEventListener!('abort', onAbort);
  // Called at once when the token is cancelled already.
  token?.subscribe(onCancel);
  return {
    signal: controller.signal,
    release: () => {
      signal?.removeEventListener?.('abort', onAbort);
      token?.unsubscribe(onCancel);
    },
  };
}

/** axios header values may be numbers, arrays or booleans: only a string can be a key. */
/** The request's `If-Match`, part of its intent (another version, another intent). */
function ifMatchOf(config: InternalAxiosRequestConfig): { ifMatch?: string } {
  const ifMatch = headerText(config.headers.get('If-Match'));
  return ifMatch === undefined ? {} : { ifMatch };
}

function headerText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The outbox's replayed answer as axios would have answered it: the raw body (axios's
 * `transformResponse` parses it after the adapter), rejected as an `AxiosError` when
 * `validateStatus` refuses the status.
 */
async function axiosResponseOf(answer: Response, config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
  const data = config.responseType === 'arraybuffer' ? await answer.arrayBuffer() : config.responseType === 'blob' ? await answer.blob() : await answer.text();
  const response: AxiosResponse = { data, status: answer.status, statusText: answer.statusText, headers: Object.fromEntries(answer.headers), config };
  if (config.validateStatus && !config.validateStatus(answer.status)) {
    const code = answer.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
    throw new AxiosError(`Request failed with status code ${answer.status}`, code, config, undefined, response);
  }
  return response;
}
