/** What `guardButton` and `guardForm` share in their types: their options and the handler's context. */
import type { Classifier } from '../core/classify.js';
import type { Intent } from '../core/fingerprint.js';
import type { SubmitterOptions } from '../core/options.js';
import type { RetryInput } from '../core/retry.js';
import type { Submitter } from '../core/submitter.js';

/** What a guard's handler receives: send `key` with the request, honour `signal`. */
export interface GuardContext {
  /** The idempotency key: the same on every retry of this intent, and after a reload. */
  key: string;
  /** Aborts when the guard is disposed or an attempt times out. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
}

export interface GuardOptions<TData> extends SubmitterOptions {
  /** Share one engine (store, in-flight map, settle window) with other adapters. */
  submitter?: Submitter;
  /** Triggers within this many ms of the last one (ignored ones too) or of the last settle are ignored. Default 300. */
  debounce?: number;
  retry?: RetryInput;
  classify?: Classifier<TData>;
  onSuccess?: (data: TData, key: string | undefined) => void;
  onError?: (error: unknown, key: string | undefined) => void;
  /** Mint and persist the key on pointerdown and focus, so the click sends at once. */
  prepare?: boolean;
}

/** A name, an intent, or a function returning one (read at each trigger). */
export type IntentInput<TInput> = string | Intent | ((input: TInput) => Intent);
