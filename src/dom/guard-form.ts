/** `guardForm`: one submit, one submission, for pages without a framework. */
import { formBytes } from '../http/form-bytes.js';
import { formDataOf } from '../ui/form-data-of.js';
import { actionIntent } from '../ui/submission-observer.js';
import type { HeldAction } from '../ui/held-action.js';
import { bindGuard } from './bind-guard.js';
import type { GuardContext, GuardOptions, IntentInput } from './guard-options.js';

export interface GuardFormContext extends GuardContext {
  /** The form's data at submit time, with the clicked submit button's name and value. */
  formData: FormData;
  /**
   * `formData` as multipart bytes under the key: the same bytes on every attempt and on a
   * later submission of the same data under the same key, which a FormData is not (the
   * platform picks a random boundary at every send, and a server comparing bytes refuses
   * the retry). Its `type` is the Content-Type, boundary included, so `fetch` sends it as is.
   */
  body: Blob;
  form: HTMLFormElement;
}

export interface GuardFormOptions<TData> extends GuardOptions<TData> {
  /**
   * What a submit means, for finding its key: a name, an intent, or a function of the
   * form's data returning one. Default: the form's method, action URL and data, i.e. the
   * request the browser itself would have sent.
   */
  intent?: IntentInput<FormData>;
  /** What the handler sends, given the form's data, for the `outbox` (with `outbox` and `queue: true`). */
  held?: HeldAction<FormData, TData>;
}

/**
 * Guards a form: its `submit` events (a submit button, Enter in a field, `requestSubmit()`)
 * are intercepted and the first one calls `handler` with the key and the form's data, as
 * `formData` and as `body` (its bytes under the key: send this one). Further submits send
 * nothing while it is pending, nor until `debounce` ms pass without one after it settles. While pending the form is
 * `aria-busy` and its submit buttons are `disabled`; their previous state comes back when
 * it settles. `form.submit()` fires no event and is not guarded.
 *
 * Returns the disposer: it removes the listener and restores the form. A pending
 * submission's retries are aborted; an attempt already sent keeps its key in the engine.
 *
 * @example
 * const dispose = guardForm(document.querySelector('form')!, ({ key, signal, body }) =>
 *   fetch('/messages', { method: 'POST', body, headers: { 'Idempotency-Key': key }, signal }),
 * )
 */
export function guardForm<TData>(
  form: HTMLFormElement,
  handler: (context: GuardFormContext) => Promise<TData>,
  options: GuardFormOptions<TData> = {},
): () => void {
  const { intent, ...rest } = options;
  /** The submit button each submit's data came from: its `formaction`/`formmethod` say where the browser would send it. */
  const submitters = new WeakMap<FormData, HTMLButtonElement | HTMLInputElement>();
  const intentOf = (formData: FormData) => {
    if (typeof intent === 'function') return intent(formData);
    if (typeof intent === 'object') return intent;
    if (typeof intent === 'string') return actionIntent(intent, formData);
    const by = submitters.get(formData);
    const method = by?.getAttribute('formmethod') || form.getAttribute('method') || 'post';
    // The attribute as written where `formAction` is missing (jsdom): resolved against the page like any intent URL.
    const action = by?.getAttribute('formaction');
    return { method: method.toUpperCase(), url: action == null ? actionOf(form) : by!.formAction || action, body: formData };
  };
  /** Each submission's form, encoded once for all its attempts. */
  const encoded = new WeakMap<FormData, Promise<(key: string) => Blob>>();
  const send = async (formData: FormData, context: GuardContext) => {
    let bytes = encoded.get(formData);
    if (!bytes) encoded.set(formData, (bytes = formBytes(formData)));
    const body = (await bytes)(context.key);
    // Not `...context`: spreading reads `signal`, which makes the run's AbortController.
    return handler({
      key: context.key,
      get signal() {
        return context.signal;
      },
      attempt: context.attempt,
      formData,
      body,
      form,
    });
  };
  return bindGuard<FormData, TData>(form, send, rest, intentOf, (observer) => {
    const onSubmit = (event: Event) => {
      event.preventDefault();
      // Read before the submit buttons are disabled: disabled controls are left out of FormData.
      const by = (event as SubmitEvent).submitter;
      const formData = formDataOf(form, by);
      if (isSubmitControl(by)) submitters.set(formData, by);
      void observer.trigger(formData);
    };
    const onPrepare = (event: Event) => {
      if (observer.locked || !isSubmitControl(event.target)) return;
      const formData = formDataOf(form, event.target);
      submitters.set(formData, event.target);
      observer.prepare(formData).catch(() => undefined);
    };
    return {
      busy: () => [form, ...submitControls(form)],
      listeners: [
        // Capture, so the guard decides before the page's own submit listeners run.
        [form, 'submit', onSubmit, { capture: true }],
        ...(options.prepare ? ([[form, 'pointerdown', onPrepare], [form, 'focusin', onPrepare]] as const) : []),
      ],
    };
  });
}

/**
 * The form's action URL as the browser resolves it: `form.action` itself is shadowed by a
 * control named "action" (WordPress's admin-post.php forms have one), and is that control.
 */
function actionOf(form: HTMLFormElement): string {
  return Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, 'action')!.get!.call(form) as string;
}

/** Submit buttons, including those outside the form that name it with `form="…"`. */
function submitControls(form: HTMLFormElement): Element[] {
  return Array.from(form.elements).filter(isSubmitControl);
}

function isSubmitControl(element: unknown): element is HTMLButtonElement | HTMLInputElement {
  if (element instanceof HTMLButtonElement) return element.type === 'submit';
  return element instanceof HTMLInputElement && (element.type === 'submit' || element.type === 'image');
}
