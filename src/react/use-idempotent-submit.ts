/**
 * `useIdempotentSubmit`: binds a `SubmissionObserver` to React. The observer holds all
 * the logic (lock, debounce, engine, state); this file only subscribes to it and wires
 * handlers, like TanStack's `useMutation` (STYLE 9).
 */
import {
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type FocusEvent,
  type FormEvent,
  type MouseEvent,
  type PointerEvent,
} from 'react';
import {
  SubmissionObserver,
  type Action,
  type SubmissionOptions,
  type SubmissionState,
} from '../ui/submission-observer.js';
import { formDataOf } from '../ui/form-data-of.js';

export interface UseIdempotentSubmitOptions<TInput, TData> extends SubmissionOptions<TInput, TData> {
  /** What `buttonProps`' click submits (read at click time from the latest render). */
  input?: TInput;
  /** Turns a submitted form's data into the input; default: the `FormData` itself. */
  formInput?: (data: FormData) => TInput;
  /** Mint and persist the key on the button's pointerdown and focus, so the click sends at once. */
  prepare?: boolean;
}

/** Spread on a `<button>`: `type="button"`, disabled and `aria-busy` while pending, a guarded click. */
export interface IdempotentButtonProps {
  type: 'button';
  disabled: boolean;
  'aria-busy': boolean;
  onClick: (event: MouseEvent<HTMLElement>) => void;
  onPointerDown?: (event: PointerEvent<HTMLElement>) => void;
  onFocus?: (event: FocusEvent<HTMLElement>) => void;
}

/** Spread on a `<form>`: a guarded `onSubmit` that prevents the page navigation. */
export interface IdempotentFormProps {
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
  'aria-busy': boolean;
}

export interface UseIdempotentSubmitResult<TInput, TData> extends SubmissionState<TData> {
  isIdle: boolean;
  isPending: boolean;
  isSuccess: boolean;
  isError: boolean;
  /** Guarded and debounced; never rejects (see `error`). Ignored while pending. */
  submit: (input: TInput) => void;
  /** Guarded but not debounced; resolves with the data or rejects with the error. */
  submitAsync: (input: TInput) => Promise<TData>;
  /** Mints and persists the input's key ahead of the submission. */
  prepare: (input: TInput) => Promise<string>;
  /** Back to idle; a pending submission is not cancelled (it may be on the wire). */
  reset: () => void;
  /** Props for the button that submits `options.input`. */
  buttonProps: IdempotentButtonProps;
  /** Props for a button that submits `input` (several buttons, one action). */
  getButtonProps: (input: TInput) => IdempotentButtonProps;
  /** Props for `<form {...formProps}>`: submits `formInput(new FormData(form))`. */
  formProps: IdempotentFormProps;
  /** For React 19 `<form action={formAction}>`; pending until the submission settles. */
  formAction: (data: FormData) => Promise<void>;
}

// useLayoutEffect warns during server rendering in React 18; nothing needs it there.
const useClientLayoutEffect = typeof document === 'undefined' ? useEffect : useLayoutEffect;

/**
 * Submits a user's intent exactly once: a synchronous lock (a second click in the same
 * tick sends nothing), a debounce, an idempotency key the action sends, safe retries with
 * that key, and the state to show.
 *
 * The action is called with `{ key, signal, attempt }` and may call axios, fetch or
 * anything; a retry after an ambiguous failure (network error, 5xx, …) gets the same key.
 * A thrown error without an HTTP `status` (or a `response` with one) counts as ambiguous
 * and is retried: throw axios-style errors for a final 4xx.
 *
 * On unmount, retries and waits are aborted. An attempt already sent may still act on the
 * server; the engine keeps its key, so submitting the same intent again (even after a
 * reload) reuses it and the server replays the first answer instead of acting twice.
 *
 * Engine options (`store`, `scope`, `ttl`, `onEvent`, …) are read on the first submission;
 * the action, `input` and the callbacks are always the latest render's.
 *
 * @example
 * function PlaceOrder({ cart }: { cart: Cart }) {
 *   const order = useIdempotentSubmit(
 *     (cart: Cart, { key, signal }) =>
 *       axios.post('/orders', cart, { headers: { 'Idempotency-Key': key }, signal }).then((r) => r.data as Order),
 *     { intent: 'place-order', input: cart, onSuccess: (order) => navigate(`/orders/${order.id}`) },
 *   )
 *   return <button {...order.buttonProps}>{order.isPending ? 'Placing…' : 'Place order'}</button>
 * }
 *
 * @example
 * // A form: `<form {...formProps}>`, or with React 19 `<form action={formAction}>`.
 * const { formProps } = useIdempotentSubmit(sendMessage, {
 *   intent: 'send-message',
 *   formInput: (data) => ({ text: String(data.get('text')) }),
 * })
 */
export function useIdempotentSubmit<TInput = void, TData = unknown>(
  action: Action<TInput, TData>,
  options: UseIdempotentSubmitOptions<TInput, TData> = {},
): UseIdempotentSubmitResult<TInput, TData> {
  const [observer] = useState(() => new SubmissionObserver(action, options));
  const latest = useRef(options);
  /** The focused button or submitter that started the submission, to focus again once it settles. */
  const focusBack = useRef<Element | null>(null);
  useClientLayoutEffect(() => {
    latest.current = options;
    observer.setOptions(action, options);
  });
  useEffect(() => observer.attach(), [observer]);
  const state = useSyncExternalStore(observer.subscribe, observer.getState, observer.getState);

  const handlers = useMemo(() => {
    const toInput = (data: FormData): TInput => {
      const map = latest.current.formInput;
      // Without a mapper the input is the FormData itself (the caller's TInput says so).
      return map ? map(data) : (data as TInput);
    };
    const start = (input: TInput, by: Element | null | undefined) => {
      if (observer.trigger(input) && by === document.activeElement) focusBack.current = by;
    };
    const buttonHandlers = (input: () => TInput) => ({
      onClick: (event: MouseEvent<HTMLElement>) => start(input(), event.currentTarget),
      onPrepare: () => {
        if (latest.current.prepare && !observer.locked) observer.prepare(input()).catch(noop);
      },
    });
    return {
      submit: (input: TInput) => void observer.trigger(input),
      submitAsync: (input: TInput) => observer.submit(input),
      prepare: (input: TInput) => observer.prepare(input),
      reset: () => observer.reset(),
      button: buttonHandlers(() => latest.current.input as TInput),
      buttonFor: buttonHandlers,
      onSubmit: (event: FormEvent<HTMLFormElement>) => {
        event.preventDefault();
        const submitter = (event.nativeEvent as { submitter?: HTMLElement | null }).submitter ?? null;
        start(toInput(formDataOf(event.currentTarget, submitter)), submitter);
      },
      formAction: async (data: FormData) => {
        // Resolves, never rejects: a rejected form action would reach an error boundary.
        await observer.trigger(toInput(data));
      },
    };
  }, [observer]);

  const isPending = state.status === 'pending';
  const prepareOn = options.prepare === true;
  // `disabled` while pending sends the focus of the button pressed to <body>: give it back,
  // unless the page moved it meanwhile (an onError focusing a message, say).
  useClientLayoutEffect(() => {
    const element = focusBack.current as HTMLElement | null;
    if (isPending || !element) return;
    focusBack.current = null;
    const active = document.activeElement;
    if (!active || active === document.body) element.focus({ preventScroll: true });
  }, [isPending]);
  return useMemo(() => {
    const buttonProps = (h: { onClick: (event: MouseEvent<HTMLElement>) => void; onPrepare: () => void }): IdempotentButtonProps => ({
      type: 'button',
      disabled: isPending,
      'aria-busy': isPending,
      onClick: h.onClick,
      ...(prepareOn ? { onPointerDown: h.onPrepare, onFocus: h.onPrepare } : {}),
    });
    return {
      ...state,
      isIdle: state.status === 'idle',
      isPending,
      isSuccess: state.status === 'success',
      isError: state.status === 'error',
      submit: handlers.submit,
      submitAsync: handlers.submitAsync,
      prepare: handlers.prepare,
      reset: handlers.reset,
      buttonProps: buttonProps(handlers.button),
      getButtonProps: (input: TInput) => buttonProps(handlers.buttonFor(() => input)),
      formProps: { onSubmit: handlers.onSubmit, 'aria-busy': isPending },
      formAction: handlers.formAction,
    };
  }, [state, isPending, prepareOn, handlers]);
}

function noop(): undefined {
  return undefined;
}
