/**
 * The framework-free state machine behind `useIdempotentSubmit` and the DOM guards: a
 * synchronous lock, a debounce, one engine submission at a time, and the state a UI shows.
 * The React hook and `guardButton`/`guardForm` only bind it to their world (STYLE 8, 9).
 */
import type { Classifier } from '../core/classify.js';
import { isSubmitOnceError } from '../core/errors.js';
import type { Intent } from '../core/fingerprint.js';
import { nonNegative, type SubmitterOptions } from '../core/options.js';
import type { RetryInput } from '../core/retry.js';
import { createSubmitter, peekSignal, signalOf, type AttemptContext, type Held, type SubmitCall, type Submitter } from '../core/submitter.js';
import { heldFor, type HeldAction } from './held-action.js';

export type SubmissionStatus = 'idle' | 'pending' | 'success' | 'error';

/** What an action receives: send `key` with the request, honour `signal`. */
export interface ActionContext {
  /** The idempotency key of this intent: the same on every retry and after a reload. */
  key: string;
  /** Aborts when the submission is cancelled (unmount, dispose) or an attempt times out. */
  signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
}

/** Sends one attempt of the user's intent; may call axios, fetch or anything. */
export type Action<TInput, TData> = (input: TInput, context: ActionContext) => Promise<TData>;

export interface SubmissionState<TData> {
  status: SubmissionStatus;
  data: TData | undefined;
  error: unknown;
  /** The key of the current or last submission, once the engine has resolved it. */
  key: string | undefined;
  /** The attempt in progress or last made; 0 before the first. */
  attempt: number;
}

export interface SubmissionOptions<TInput, TData> extends SubmitterOptions {
  /** Share one engine (store, in-flight map, settle window) with other adapters. */
  submitter?: Submitter;
  /**
   * What the input means, for finding its key: a name (the intent is
   * `ACTION submit-once:action/<name>` with the input as body) or a function returning the
   * intent. Default: the action's function name. Two actions that may submit equal inputs
   * need different names, or the second joins the first.
   */
  intent?: string | ((input: TInput) => Intent);
  /** UI triggers (clicks, form submits) within this many ms of the last one (ignored ones too) or of the last settle are ignored. Default 300. */
  debounce?: number;
  /** Per-call retry policy; default the engine's. */
  retry?: RetryInput;
  /** How an attempt's result is read; default: thrown errors without an HTTP status are ambiguous. */
  classify?: Classifier<TData>;
  /** `key` is undefined when the engine answered from its settle window without sending. */
  onSuccess?: (data: TData, input: TInput, key: string | undefined) => void;
  onError?: (error: unknown, input: TInput, key: string | undefined) => void;
  /** The action's request, for the `outbox` (with `queue: true`); see `HeldAction`. */
  held?: HeldAction<TInput, TData>;
}

/** UI triggers this close together are one gesture (a double-click, a held Enter). */
const DEFAULT_DEBOUNCE = 300;

const IDLE: SubmissionState<never> = Object.freeze({
  status: 'idle',
  data: undefined,
  error: undefined,
  key: undefined,
  attempt: 0,
});

type Change<TData> =
  | { type: 'start' }
  | { type: 'attempt'; key: string; attempt: number }
  | { type: 'success'; data: TData }
  | { type: 'error'; error: unknown }
  | { type: 'reset' };

function reduce<TData>(state: SubmissionState<TData>, change: Change<TData>): SubmissionState<TData> {
  switch (change.type) {
    case 'start':
      return { status: 'pending', data: undefined, error: undefined, key: undefined, attempt: 0 };
    case 'attempt':
      return { ...state, key: change.key, attempt: change.attempt };
    case 'success':
      return { ...state, status: 'success', data: change.data, error: undefined };
    case 'error':
      return { ...state, status: 'error', data: undefined, error: change.error };
    case 'reset':
      return IDLE;
  }
}

/**
 * One submission, and the engine's call for it. Its `AbortController` is made on the first
 * read of its signal (the action reading `signal`, a retry's wait, a timeout) or by
 * `abort()`, not on every click: most actions never read it. A class, so the getter and
 * `peekSignal` are on its prototype, not defined again on each click's object.
 */
class Run<TData> implements SubmitCall<TData> {
  promise!: Promise<TData>;
  declare intent: Intent;
  declare retry?: RetryInput;
  declare classify?: Classifier<TData>;
  declare held?: Held<TData>;
  #controller: AbortController | undefined;

  constructor(readonly send: (attempt: AttemptContext) => Promise<TData>) {}

  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** The signal if it was made: the engine asks whether it aborted without making it. */
  [peekSignal](): AbortSignal | undefined {
    return this.#controller?.signal;
  }

  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }
}

/**
 * @example
 * const observer = new SubmissionObserver(placeOrder, { intent: 'place-order' })
 * const detach = observer.attach()
 * observer.subscribe(() => render(observer.getState()))
 * button.onclick = () => observer.trigger(cart)
 */
export class SubmissionObserver<TInput, TData> {
  #action: Action<TInput, TData>;
  #options: SubmissionOptions<TInput, TData>;
  #submitter: Submitter | undefined;
  #state: SubmissionState<TData> = IDLE;
  readonly #listeners = new Set<() => void>();
  #run: Run<TData> | undefined;
  /** Runs reset() let go of, still pending: detaching stops their retries too. */
  readonly #released = new Set<Run<TData>>();
  /** Bumped by reset(), so a run started before it cannot overwrite the fresh state. */
  #generation = 0;
  #quietUntil = 0;
  #attached = 0;
  #pendingAbort: ReturnType<typeof setTimeout> | undefined;

  constructor(action: Action<TInput, TData>, options: SubmissionOptions<TInput, TData> = {}) {
    // No side effects here: React may construct an observer and throw it away (StrictMode).
    this.#action = action;
    this.#options = checked(options);
  }

  /** Takes the latest action and callbacks; engine options are read once, on first use. */
  setOptions(action: Action<TInput, TData>, options: SubmissionOptions<TInput, TData> = {}): void {
    this.#action = action;
    this.#options = checked(options);
  }

  getState = (): SubmissionState<TData> => this.#state;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  /** True from the moment a submission starts until it settles, before any re-render. */
  get locked(): boolean {
    return this.#run !== undefined;
  }

  /**
   * Starts a submission, or returns the pending one: while one is pending nothing else is
   * sent, whatever the input. The lock is taken synchronously, so a second call in the
   * same tick joins the first. Rejects with the action's (or the engine's) error.
   */
  submit(input: TInput): Promise<TData> {
    if (this.#run) return this.#run.promise;
    const generation = this.#generation;
    this.#dispatch({ type: 'start' });
    const run: Run<TData> = new Run<TData>((context): Promise<TData> => {
      if (generation === this.#generation) {
        this.#dispatch({ type: 'attempt', key: context.key, attempt: context.attempt });
      }
      // Made only when the action reads it: the attempt's timed signal (which follows the
      // run's), else the run's own. An own getter, so `{ ...context }` still carries it.
      return this.#action(input, {
        key: context.key,
        get signal(): AbortSignal {
          return signalOf(context) ?? run.signal;
        },
        attempt: context.attempt,
      });
    });
    // Everything that can throw runs inside the promise, so the lock above is always released.
    const promise = Promise.resolve().then(async () => {
      const { retry, classify, held } = this.#options;
      // A prepare() of the same intent still running is safe: the engine claims keys atomically.
      run.intent = this.#intentFor(input);
      if (retry !== undefined) run.retry = retry;
      if (classify !== undefined) run.classify = classify;
      if (held !== undefined) {
        run.held = heldFor(held, input, (key) => {
          if (generation === this.#generation) this.#dispatch({ type: 'attempt', key, attempt: this.#state.attempt });
        });
      }
      return this.#engine().submit<TData>(run);
    });
    run.promise = promise;
    this.#run = run;
    promise.then(
      (data) => this.#settle(run, generation, input, { ok: true, data }),
      (error: unknown) => this.#settle(run, generation, input, { ok: false, error }),
    );
    return promise;
  }

  /**
   * A UI trigger (click, form submit): ignored while locked and within `debounce` ms of
   * the last trigger (taken or ignored) or settle. Returns the submission it started or
   * joined, or `undefined` when ignored; never rejects (the error is in the state).
   */
  trigger(input: TInput): Promise<TData | undefined> | undefined {
    // Monotonic: a wall clock set back (NTP, the user) would ignore every trigger until it caught up.
    const now = performance.now();
    const quiet = now < this.#quietUntil;
    // Every trigger moves the quiet time on, an ignored one too: a held Enter key clicks on
    // for as long as it is held, and got a click through every `debounce` ms, a new order
    // once the settle window was over. The gesture ends when the triggers stop.
    this.#quietUntil = Math.max(this.#quietUntil, now + (this.#options.debounce ?? DEFAULT_DEBOUNCE));
    if (this.#run) return this.#run.promise.catch(noop);
    if (quiet) return undefined;
    return this.submit(input).catch(noop);
  }

  /** Mints and persists the input's key ahead of the click (pointerdown, focus). */
  prepare(input: TInput): Promise<string> {
    return Promise.resolve().then(() => this.#engine().prepare(this.#intentFor(input)));
  }

  /**
   * Back to idle. A pending submission is not cancelled (it may already be on the wire)
   * but no longer shows; submitting the same input again joins it in the engine.
   */
  reset(): void {
    this.#generation += 1;
    if (this.#run) this.#released.add(this.#run);
    this.#run = undefined;
    this.#quietUntil = 0;
    this.#dispatch({ type: 'reset' });
  }

  /**
   * Marks a user of the observer (a mounted component, a live guard). When the last one
   * detaches, the pending submission's retries and waits are aborted; an attempt already
   * sent may still reach the server, and the engine keeps its key, so submitting the same
   * intent later reuses it and the server replays instead of acting twice. The abort is
   * deferred one task so StrictMode's unmount-and-remount cancels nothing.
   */
  attach(): () => void {
    this.#attached += 1;
    if (this.#pendingAbort !== undefined) {
      clearTimeout(this.#pendingAbort);
      this.#pendingAbort = undefined;
    }
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      this.#attached -= 1;
      if (this.#attached > 0) return;
      this.#pendingAbort = setTimeout(() => {
        this.#pendingAbort = undefined;
        if (this.#attached > 0) return;
        for (const run of [this.#run, ...this.#released]) run?.abort(new DOMException('The submitter was detached.', 'AbortError'));
      }, 0);
    };
  }

  #settle(
    run: Run<TData>,
    generation: number,
    input: TInput,
    outcome: { ok: true; data: TData } | { ok: false; error: unknown },
  ): void {
    this.#released.delete(run);
    if (this.#run === run) {
      this.#run = undefined;
      // The debounce counts from the settle too, so the click that lands just as a slow
      // request completes is taken for the double-click it is.
      this.#quietUntil = Math.max(this.#quietUntil, performance.now() + (this.#options.debounce ?? DEFAULT_DEBOUNCE));
    }
    if (generation !== this.#generation) return;
    // Only detach() aborts the controller: nobody is left to tell about that.
    const cancelled = run[peekSignal]()?.aborted === true;
    if (outcome.ok) {
      this.#dispatch({ type: 'success', data: outcome.data });
      if (!cancelled) this.#options.onSuccess?.(outcome.data, input, this.#state.key);
    } else {
      this.#dispatch({ type: 'error', error: outcome.error });
      if (!(cancelled && isSubmitOnceError(outcome.error, 'aborted'))) {
        this.#options.onError?.(outcome.error, input, this.#state.key);
      }
    }
  }

  #dispatch(change: Change<TData>): void {
    this.#state = reduce(this.#state, change);
    for (const listener of [...this.#listeners]) listener();
  }

  #engine(): Submitter {
    this.#submitter ??= this.#options.submitter ?? createSubmitter(this.#options);
    return this.#submitter;
  }

  #intentFor(input: TInput): Intent {
    const intent = this.#options.intent;
    if (typeof intent === 'function') return intent(input);
    const name = intent ?? (this.#action.name || 'action');
    return actionIntent(name, input);
  }
}

/**
 * The observer's own options, checked when given: a bad debounce ('300', NaN) would
 * silently turn the debounce off or ignore every trigger after the first.
 */
function checked<T extends { debounce?: number }>(options: T): T {
  if (options.debounce !== undefined) nonNegative('debounce', options.debounce);
  return options;
}

/** The intent of a named action: no HTTP request of its own, the input as body. */
export function actionIntent(name: string, input: unknown): Intent {
  return { method: 'ACTION', url: `submit-once:action/${encodeURIComponent(name)}`, body: input };
}

function noop(): undefined {
  return undefined;
}
