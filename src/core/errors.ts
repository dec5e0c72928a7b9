/**
 * Typed errors. Each failure a caller must handle differently is its own class with a
 * literal `name` and a stable machine `code`; `isSubmitOnceError()` recognises them even
 * when they cross realms (iframes, test environments), where `instanceof` fails.
 */

export type SubmitOnceErrorCode =
  | 'invalid-key'
  | 'invalid-options'
  | 'invalid-request'
  | 'unreplayable-body'
  | 'ambiguous-outcome'
  | 'key-reused'
  | 'outcome-unknown'
  | 'replayed-failure'
  | 'aborted'
  | 'token-unavailable'
  | 'precondition-failed'
  // submit-once/outbox
  | 'outbox-full'
  | 'outbox-unavailable'
  | 'outbox-gave-up'
  // submit-once/sw
  | 'outbox-still-waiting';

export interface SubmitOnceErrorOptions {
  cause?: unknown;
}

export class SubmitOnceError extends Error {
  override name: string = 'SubmitOnceError';
  readonly code: SubmitOnceErrorCode;

  constructor(code: SubmitOnceErrorCode, message: string, options?: SubmitOnceErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** A caller-supplied key is not 1 to 255 visible ASCII characters. */
export class InvalidKeyError extends SubmitOnceError {
  override name = 'InvalidKeyError' as const;
  constructor(readonly key: unknown) {
    super('invalid-key', `Invalid idempotency key ${describe(key)}: expected 1 to 255 visible ASCII characters.`);
  }
}

/** An option has a value the SDK cannot use; thrown when the submitter is created. */
export class InvalidOptionsError extends SubmitOnceError {
  override name = 'InvalidOptionsError' as const;
  constructor(readonly option: string, detail: string) {
    super('invalid-options', `Invalid option "${option}": ${detail}`);
  }
}

/** The request itself cannot be submitted (no URL, a body that cannot be serialised). */
export class InvalidRequestError extends SubmitOnceError {
  override name = 'InvalidRequestError' as const;
  constructor(detail: string, options?: SubmitOnceErrorOptions) {
    super('invalid-request', `Invalid request: ${detail}`, options);
  }
}

/**
 * The body is a one-shot stream: it cannot be fingerprinted or sent again on retry, so
 * it is refused before anything leaves rather than risk a second, keyless effect.
 */
export class UnreplayableBodyError extends SubmitOnceError {
  override name = 'UnreplayableBodyError' as const;
  constructor() {
    super(
      'unreplayable-body',
      'A stream body cannot be sent again on retry; pass a string, Blob, bytes, FormData or URLSearchParams.',
    );
  }
}

/**
 * Every attempt ended without a response (network error, timeout): the server may or may
 * not have acted. The key is kept, so trying the same intent again is safe.
 */
export class AmbiguousOutcomeError extends SubmitOnceError {
  override name = 'AmbiguousOutcomeError' as const;
  constructor(
    readonly key: string,
    readonly attempts: number,
    options?: SubmitOnceErrorOptions,
  ) {
    super(
      'ambiguous-outcome',
      `No response after ${attempts} attempt(s): outcome unknown. Retrying the intent reuses key ${key}.`,
      options,
    );
  }
}

/** The server (422) says this key was already used with a different payload: a bug. */
export class KeyReusedError extends SubmitOnceError {
  override name = 'KeyReusedError' as const;
  constructor(
    readonly key: string,
    readonly status: number,
    options?: SubmitOnceErrorOptions,
  ) {
    super('key-reused', `Key ${key} was already used with another payload.`, options);
  }
}

/**
 * The server cannot know whether the first request with this key took effect (its
 * process died mid-run, an upstream failed after delivery) and will not run it again:
 * the verifier's `outcome-unknown` problem. Final, never retried: a retry would get the
 * same answer, and running the intent again could act twice. The key is retired, so the
 * user, told that the outcome is unknown, makes a new intent with a new click.
 */
export class OutcomeUnknownError extends SubmitOnceError {
  override name = 'OutcomeUnknownError' as const;
  constructor(
    readonly key: string,
    readonly status: number,
    options?: SubmitOnceErrorOptions,
  ) {
    super('outcome-unknown', `Outcome of key ${key} unknown; the server will not run it again.`, options);
  }
}

/**
 * The server replays a failure it stored for this key (a 5xx with `Idempotent-Replayed`;
 * @node-idempotency and Stripe store 5xx): it will answer the same for its whole retention
 * (often 24 h), so retrying the key cannot help. Final: the key is retired, so submitting
 * the intent again (a new click, `submit()`, `fetch()`, `axios.post()`) is a new intent
 * with a new key; inside the settle window a double-click still gets this error.
 * `cause` is the replayed answer (a fetch `Response`, an `AxiosError`).
 */
export class ReplayedFailureError extends SubmitOnceError {
  override name = 'ReplayedFailureError' as const;
  constructor(
    readonly key: string,
    readonly status: number,
    options?: SubmitOnceErrorOptions,
  ) {
    super('replayed-failure', `Key ${key}: the server replays its stored ${status}; submit again for a new intent.`, options);
  }
}

/**
 * The caller aborted. `name` is "AbortError" so code written for fetch keeps working;
 * the key is kept because the request may already have reached the server.
 */
export class SubmissionAbortedError extends SubmitOnceError {
  override name = 'AbortError' as const;
  constructor(
    readonly key: string | undefined,
    options?: SubmitOnceErrorOptions,
  ) {
    super('aborted', 'The submission was aborted.', options);
  }
}

const codes: ReadonlySet<string> = new Set<SubmitOnceErrorCode>([
  'invalid-key',
  'invalid-options',
  'invalid-request',
  'unreplayable-body',
  'ambiguous-outcome',
  'key-reused',
  'outcome-unknown',
  'replayed-failure',
  'aborted',
  'token-unavailable',
  'precondition-failed',
  'outbox-full',
  'outbox-unavailable',
  'outbox-gave-up',
  'outbox-still-waiting',
]);

/**
 * The class thrown with each `code` (the entry that throws it exports it). The entries'
 * own codes (tokens, preconditions, outbox) are added by their modules (declaration
 * merging), so the engine imports none of them; without that entry, the base class.
 */
export interface SubmitOnceErrorByCode {
  'invalid-key': InvalidKeyError;
  'invalid-options': InvalidOptionsError;
  'invalid-request': InvalidRequestError;
  'unreplayable-body': UnreplayableBodyError;
  'ambiguous-outcome': AmbiguousOutcomeError;
  'key-reused': KeyReusedError;
  'outcome-unknown': OutcomeUnknownError;
  'replayed-failure': ReplayedFailureError;
  aborted: SubmissionAbortedError;
}

/** The error of code `C` (of each code in a union, told apart by `code`). */
export type SubmitOnceErrorOf<C extends SubmitOnceErrorCode> = C extends SubmitOnceErrorCode
  ? (C extends keyof SubmitOnceErrorByCode ? SubmitOnceErrorByCode[C] : SubmitOnceError) & { readonly code: C }
  : never;

/**
 * True for any submit-once error, optionally of one `code`; works across realms. With a
 * code it narrows to that code's class, so its fields (`status`, `attempts`, `reason`…)
 * can be read without a cast or an `instanceof` that another realm would fail.
 */
export function isSubmitOnceError(error: unknown): error is SubmitOnceError;
export function isSubmitOnceError<C extends SubmitOnceErrorCode>(error: unknown, code: C | undefined): error is SubmitOnceErrorOf<C>;
export function isSubmitOnceError(error: unknown, code?: SubmitOnceErrorCode): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = (error as { code?: unknown }).code;
  if (typeof candidate !== 'string' || !codes.has(candidate)) return false;
  if (!(error instanceof Error) && Object.prototype.toString.call(error) !== '[object Error]') return false;
  return code === undefined || candidate === code;
}

/** True for an `OutcomeUnknownError`, also from another realm. */
export function isOutcomeUnknownError(error: unknown): error is OutcomeUnknownError {
  return isSubmitOnceError(error, 'outcome-unknown');
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `of type ${typeof value}`;
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
