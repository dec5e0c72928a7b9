export { createSubmitter } from './core/submitter.js';
export type { AttemptContext, SubmitCall, Submitter } from './core/submitter.js';
export type { LockManagerLike, SubmitterOptions } from './core/options.js';
export { fingerprint } from './core/fingerprint.js';
export type { Intent } from './core/fingerprint.js';
export { newKey, isValidKey, formatKey, parseKey } from './core/key.js';
export type { KeyFormat } from './core/key.js';
export { memoryStore } from './core/store.js';
export type { KeyRecord, KeyState, KeyStore } from './core/store.js';
export { indexedDbStore } from './core/indexeddb-store.js';
export type { IndexedDbStoreOptions } from './core/indexeddb-store.js';
export { classifyStatus, parseRetryAfter, DEFAULT_RETRY } from './core/retry.js';
export type { RetryInput, RetryOptions, Verdict } from './core/retry.js';
export { defaultClassifier } from './core/classify.js';
export type { Classifier, Settled } from './core/classify.js';
export type { SettledOutcome, SubmitEvent, SubmitEventListener } from './core/events.js';
export {
  SubmitOnceError,
  InvalidKeyError,
  InvalidOptionsError,
  InvalidRequestError,
  UnreplayableBodyError,
  AmbiguousOutcomeError,
  KeyReusedError,
  SubmissionAbortedError,
  isSubmitOnceError,
} from './core/errors.js';
export type { SubmitOnceErrorCode } from './core/errors.js';
