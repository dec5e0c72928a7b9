/** `guardButton`: one click, one submission, for pages without a framework. */
import { actionIntent } from '../ui/submission-observer.js';
import type { HeldAction } from '../ui/held-action.js';
import { bindGuard } from './bind-guard.js';
import type { GuardContext, GuardOptions, IntentInput } from './guard-options.js';

export interface GuardButtonOptions<TData> extends GuardOptions<TData> {
  /**
   * What a click means, for finding its key: a name (`ACTION submit-once:action/<name>`),
   * an intent (`{ method: 'POST', url: '/orders', body: cart }`), or a function returning
   * one at click time. Default: the element's `id` or `name`, else `'button'`. Buttons that may be clicked
   * together with equal intents share one submission.
   */
  intent?: IntentInput<void>;
  /** What the handler sends, for the `outbox` (with `outbox` and `queue: true`): kept offline, replayed with the same key. */
  held?: HeldAction<void, TData>;
}

/**
 * Guards a button (or any clickable element): the first click calls `handler` with the
 * intent's idempotency key; further clicks, a double-click or a held Enter key send
 * nothing while it is pending, nor until `debounce` ms pass without one after it settles. While pending the element is
 * `disabled` and `aria-busy="true"`; its previous state comes back when it settles.
 * The click's default action is prevented, so a submit button does not also post its form.
 *
 * Returns the disposer: it removes the listeners and restores the element. A pending
 * submission's retries are aborted; an attempt already sent keeps its key in the engine,
 * so the same intent submitted again reuses it.
 *
 * @example
 * const dispose = guardButton(document.querySelector('#pay')!, ({ key, signal }) =>
 *   fetch('/payments', { method: 'POST', body, headers: { 'Idempotency-Key': key }, signal }),
 *   { intent: { method: 'POST', url: '/payments', body }, onError: showError },
 * )
 */
export function guardButton<TData>(
  element: HTMLElement,
  handler: (context: GuardContext) => Promise<TData>,
  options: GuardButtonOptions<TData> = {},
): () => void {
  const { intent, ...rest } = options;
  const name = element.id || element.getAttribute('name') || 'button';
  const intentOf = () => (typeof intent === 'function' ? intent() : typeof intent === 'object' ? intent : actionIntent(intent ?? name, undefined));
  return bindGuard<void, TData>(element, (_input, context) => handler(context), rest, intentOf, (observer) => {
    const onPrepare = () => {
      if (!observer.locked) observer.prepare().catch(() => undefined);
    };
    return {
      busy: () => [element],
      listeners: [
        [
          element,
          'click',
          (event) => {
            event.preventDefault();
            void observer.trigger();
          },
        ],
        ...(options.prepare ? ([[element, 'pointerdown', onPrepare], [element, 'focus', onPrepare]] as const) : []),
      ],
    };
  });
}
