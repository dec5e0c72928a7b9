export { createSubmitter } from './core/submitter.js';
export type { AttemptContext, Held, SubmitCall, Submitter, Wire } from './core/submitter.js';
export type { HeldRequest, HeldRequestOf, OutboxPort } from './core/outbox-port.js';
export type { LockManagerLike, SubmitterOptions } from './core/options.js';
export { fingerprint } from './core/fingerprint.js';
export type { Intent } from './core/fingerprint.js';
export { newKey } from './core/key.js';
export type { RandomBytes } from './core/key.js';
export { isValidKey, formatKey, parseKey } from './protocol/key-grammar.js';
export type { KeyFormat, KeyParseResult } from './protocol/key-grammar.js';
export { memoryStore } from './core/store.js';
export type { Decide, KeyRecord, KeyState, KeyStore } from './core/store.js';
export { indexedDbStore } from './core/indexeddb-store.js';
export type { Durability, IndexedDbStoreOptions } from './core/indexeddb-store.js';
export { DEFAULT_RETRY } from './core/retry.js';
export type { RetryInput, RetryOptions } from './core/retry.js';
export { classifyStatus, defaultClassifier, parseRetryAfter } from './core/classify.js';
export type { Answer, Classifier, KeyReusedMatch, Settled, Verdict } from './core/classify.js';
export type { SettledOutcome, SubmitEvent, SubmitEventListener } from './core/events.js';
export {
  SubmitOnceError,
  InvalidKeyError,
  InvalidOptionsError,
  InvalidRequestError,
  UnreplayableBodyError,
  AmbiguousOutcomeError,
  KeyReusedError,
  OutcomeUnknownError,
  ReplayedFailureError,
  SubmissionAbortedError,
  isOutcomeUnknownError,
  isSubmitOnceError,
} from './core/errors.js';
export type { SubmitOnceErrorByCode, SubmitOnceErrorCode, SubmitOnceErrorOf, SubmitOnceErrorOptions } from './core/errors.js';
