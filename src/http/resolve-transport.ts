/**
 * What the HTTP adapters (fetch, axios) share: their options, defaults and per-request
 * options, resolved in one place.
 */
import { HEADER_NAME, KEY_HEADER, KEYED_METHODS } from '../protocol/headers.js';
import { formatKey, parseKey, type KeyFormat } from '../protocol/key-grammar.js';
import { InvalidKeyError, InvalidOptionsError } from '../core/errors.js';
import type { SubmitterOptions } from '../core/options.js';
import type { RetryInput } from '../core/retry.js';
import { createSubmitter, type Submitter } from '../core/submitter.js';

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
  /** Keep it in the `outbox` when offline or ambiguous (default: the adapter's `queue`). */
  queue?: boolean;
}

export interface Transport {
  header: string;
  /** True when requests with this method get a key. */
  guards(method: string): boolean;
  /** The header value for `key`, in the configured format. */
  format(key: string): string;
  /**
   * The key already on a request (a retry re-entering axios, a caller's own header), read
   * by the verifier's parser; a malformed one (`"a"b"`, two keys) throws `InvalidKeyError`
   * rather than being sent for the server to refuse.
   */
  existingKey(value: string | null | undefined): string | undefined;
  submitter: Submitter;
}

export function resolveTransport(options: TransportOptions): Transport {
  const header = options.header ?? KEY_HEADER;
  // Refused here, not by fetch at each send: its TypeError would read as a network error.
  if (!HEADER_NAME.test(header)) throw new InvalidOptionsError('header', JSON.stringify(header));
  const methods = new Set((options.methods ?? KEYED_METHODS).map((m) => m.toUpperCase()));
  const keyFormat = options.keyFormat ?? 'token';
  return {
    header,
    guards: (method) => methods.has(method.toUpperCase()),
    format: (key) => formatKey(key, keyFormat),
    existingKey: (value) => {
      if (typeof value !== 'string' || value.trim() === '') return undefined;
      const parsed = parseKey(value);
      if (!parsed.ok) throw new InvalidKeyError(value);
      return parsed.key;
    },
    submitter: options.submitter ?? createSubmitter(options),
  };
}
