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
  const response = instance.interceptors.response.use(
    (answer: AxiosResponse) => {
      const method = methodOf(answer.config);
      const etag: unknown = answer.headers['etag'];
      if (typeof etag === 'string' && (method === 'GET' || methods.has(method))) versions.remember(urlOf(answer.config), etag);
      return answer;
    },
    (error: AxiosError) => {
      if (error.response?.status !== 412 || !methods.has(methodOf(error.config))) return Promise.reject(error);
      const header: unknown = error.response.headers['etag'];
      const { etag, current } = currentOf(typeof header === 'string' ? header : undefined, error.response.data);
      return Promise.reject(new PreconditionFailedError(urlOf(error.config), etag, current, { cause: error }));
    },
  );
  return {
    versions,
    uninstall: () => {
      instance.interceptors.request.eject(request);
      instance.interceptors.response.eject(response);
    },
  };
}
