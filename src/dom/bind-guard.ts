/**
 * The wiring `guardButton` and `guardForm` share: the observer made from the guard's
 * options, its lifetime (attach/detach), the busy state of the elements while pending,
 * the listeners, and one idempotent dispose that undoes all of it.
 */
import { InvalidOptionsError } from '../core/errors.js';
import type { Intent } from '../core/fingerprint.js';
import { SubmissionObserver } from '../ui/submission-observer.js';
import { markBusy } from './busy-state.js';
import type { HeldAction } from '../ui/held-action.js';
import type { GuardContext, GuardOptions } from './guard-options.js';

/** The part of an observer the busy state reads. */
type Observed = Pick<SubmissionObserver<never, unknown>, 'getState' | 'subscribe'>;

/** A listener the guard adds, and removes on dispose: `[target, type, handler, options]`. */
export type GuardListener = readonly [EventTarget, string, (event: Event) => void, AddEventListenerOptions?];

export interface GuardWiring {
  /** The elements marked `disabled` / `aria-busy` while a submission is pending. */
  busy: () => Iterable<Element>;
  listeners: readonly GuardListener[];
}

/**
 * The elements a live guard holds. A second guard on one would send a second time, and
 * its busy state, saved while the first's was on, would put `disabled` back for good.
 */
const guarded = new WeakSet<Element>();

/**
 * @example
 * return bindGuard(button, handler, options, intentOf, (observer) => ({
 *   busy: () => [button],
 *   listeners: [[button, 'click', () => void observer.trigger()]],
 * }))
 */
export function bindGuard<TInput, TData>(
  element: Element,
  handler: (input: TInput, context: GuardContext) => Promise<TData>,
  options: GuardOptions<TData> & { held?: HeldAction<TInput, TData> | undefined },
  intent: (input: TInput) => Intent,
  wire: (observer: SubmissionObserver<TInput, TData>) => GuardWiring,
): () => void {
  if (guarded.has(element)) throw new InvalidOptionsError('element', 'already guarded (dispose that guard first)');
  const { onSuccess, onError, ...rest } = options;
  const observer = new SubmissionObserver<TInput, TData>(handler, {
    ...rest,
    // The guards' callbacks take no input: the page knows which element it guarded.
    onSuccess: onSuccess && ((data, _input, key) => onSuccess(data, key)),
    onError: onError && ((error, _input, key) => onError(error, key)),
    intent,
  });
  const detach = observer.attach();
  const { busy, listeners } = wire(observer);
  guarded.add(element);
  const unbind = showBusy(observer, busy);
  for (const [target, type, listener, listenerOptions] of listeners) target.addEventListener(type, listener, listenerOptions);
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    guarded.delete(element);
    for (const [target, type, listener, listenerOptions] of listeners) target.removeEventListener(type, listener, listenerOptions);
    unbind();
    detach();
  };
}

/**
 * Keeps `elements()` busy while the observer is pending; returns the unbinding, which also
 * restores them if a submission is still pending.
 */
function showBusy(observer: Observed, elements: () => Iterable<Element>): () => void {
  let restore: (() => void) | undefined;
  const sync = () => {
    const pending = observer.getState().status === 'pending';
    if (pending && !restore) restore = markBusy(elements());
    else if (!pending && restore) {
      restore();
      restore = undefined;
    }
  };
  const unsubscribe = observer.subscribe(sync);
  sync();
  return () => {
    unsubscribe();
    restore?.();
    restore = undefined;
  };
}
