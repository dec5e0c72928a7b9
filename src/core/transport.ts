/**
 * What the HTTP adapters (fetch, axios) share: their options, defaults and per-request
 * options, resolved in one place.
 */
import { formatKey, parseKey, type KeyFormat } from './key.js';
import type { SubmitterOptions } from './options.js';
import type { RetryInput } from './retry.js';
import { createSubmitter, type Submitter } from './submitter.js';

export interface TransportOptions extends SubmitterOptions {
  /** Header name; default `Idempotency-Key`. */
  header?: string;
  /** Methods that get a key; default POST and PATCH. Others pass straight through. */
  methods?: readonly string[];
  /** `token` (bare UUID, as Stripe expects; default) or the draft's quoted `sf-string`. */
  keyFormat?: KeyFormat;
  /** Share one engine (its store, in-flight map and settle window) with other adapters. */
  submitter?: Submitter;
}

/** Per-request options: `idempotency: { … }` on a request, or `false` to send it untouched. */
export interface RequestIdempotency {
  key?: string;
  scope?: string;
  retry?: RetryInput;
}

export interface Transport {
  header: string;
  /** True when requests with this method get a key. */
  guards(method: string): boolean;
  /** The header value for `key`, in the configured format. */
  format(key: string): string;
  /** The key already on a request, if its header holds one. */
  existingKey(value: string | null | undefined): string | undefined;
  submitter: Submitter;
}

export function resolveTransport(options: TransportOptions): Transport {
  const methods = new Set((options.methods ?? ['POST', 'PATCH']).map((m) => m.toUpperCase()));
  const keyFormat = options.keyFormat ?? 'token';
  return {
    header: options.header ?? 'Idempotency-Key',
    guards: (method) => methods.has(method.toUpperCase()),
    format: (key) => formatKey(key, keyFormat),
    existingKey: (value) => (typeof value === 'string' && value.trim() !== '' ? parseKey(value) : undefined),
    submitter: options.submitter ?? createSubmitter(options),
  };
}
