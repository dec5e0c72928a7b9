/**
 * Optimistic concurrency for axios, as interceptors (undone by the returned function):
 * the `ETag` of each GET and successful update remembered, `If-Match` sent on PATCH and
 * PUT, a 412 rejected as `PreconditionFailedError` with the `AxiosError` as its `cause`.
 * Interceptors run above `installIdempotency`'s adapter, so every retry of an update
 * carries the same key and the same `If-Match`.
 */
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { PreconditionFailedError } from './precondition-failed-error.js';
import type { IfMatchOptions } from './if-match-fetch.js';
import { createVersions, currentOf, UPDATE_METHODS, type Versions } from './versions.js';

export interface IfMatchInstall {
  readonly versions: Versions;
  uninstall(): void;
}

/**
 * @example
 * const { versions, uninstall } = installIfMatch(api)
 * await api.get('/orders/7'); await api.patch('/orders/7', changes) // If-Match: "3"
 */
export function installIfMatch(instance: AxiosInstance, options: IfMatchOptions = {}): IfMatchInstall {
  const methods = new Set((options.methods ?? UPDATE_METHODS).map((m) => m.toUpperCase()));
  const versions = createVersions();
  const urlOf = (config: InternalAxiosRequestConfig | undefined): string => (config ? instance.getUri(config) : '');
  const methodOf = (config: InternalAxiosRequestConfig | undefined): string => (config?.method ?? 'get').toUpperCase();

  const request = instance.interceptors.request.use((config) => {
    const etag = methods.has(methodOf(config)) ? versions.get(urlOf(config)) : undefined;
    if (etag !== undefined && !config.headers.has('If-Match')) config.headers.set('If-Match', etag);
    return config;
  });
  const refused = (error: AxiosError): Promise<never> => {
    if (error.response?.status !== 412 || !methods.has(methodOf(error.config))) return Promise.reject(error);
    const header: unknown = error.response.headers['etag'];
    const { etag, current } = currentOf(typeof header === 'string' ? header : undefined, error.response.data);
    return Promise.reject(new PreconditionFailedError(urlOf(error.config), etag, current, { cause: error }));
  };
  const response = instance.interceptors.response.use((answer: AxiosResponse) => {
    const { status, config } = answer;
    // An instance whose validateStatus takes every status: its 412 came here as an answer,
    // and its ETag (the version now, never shown) was remembered, so the same stale save
    // sent again went over it. A 412 is refused as with any instance; only a success says
    // which version this page has.
    const method = methodOf(config);
    if (status === 412 && methods.has(method)) return refused(refusal(answer));
    const etag: unknown = answer.headers['etag'];
    if (status >= 200 && status < 300 && typeof etag === 'string' && (method === 'GET' || methods.has(method))) versions.remember(urlOf(config), etag);
    return answer;
  }, refused);
  return {
    versions,
    uninstall: () => {
      instance.interceptors.request.eject(request);
      instance.interceptors.response.eject(response);
    },
  };
}

/**
 * What axios rejects a 412 with under its default `validateStatus`, made without loading
 * axios: this entry serves `createIfMatchFetch` users too, who may not have it (an optional
 * peer). `axios.isAxiosError` knows it by its `isAxiosError` flag.
 */
function refusal(answer: AxiosResponse): AxiosError {
  const error = new Error(`Request failed with status code ${answer.status}`) as AxiosError;
  return Object.assign(error, {
    name: 'AxiosError',
    code: 'ERR_BAD_REQUEST',
    isAxiosError: true,
    config: answer.config,
    request: answer.request as unknown,
    response: answer,
    status: answer.status,
  });
}
