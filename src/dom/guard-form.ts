/** `guardForm`: one submit, one submission, for pages without a framework. */
import { actionIntent, SubmissionObserver } from '../core/submission-observer.js';
import { showBusy, type GuardContext, type GuardOptions, type IntentInput } from './guard-options.js';

export interface GuardFormContext extends GuardContext {
  /** The form's data at submit time, with the clicked submit button's name and value. */
  formData: FormData;
  form: HTMLFormElement;
}

export interface GuardFormOptions<TData> extends GuardOptions<TData> {
  /**
   * What a submit means, for finding its key: a name, an intent, or a function of the
   * form's data returning one. Default: the form's method, action URL and data, i.e. the
   * request the browser itself would have sent.
   */
  intent?: IntentInput<FormData>;
}

/**
 * Guards a form: its `submit` events (a submit button, Enter in a field, `requestSubmit()`)
 * are intercepted and the first one calls `handler` with the key and the form's data;
 * further ones send nothing while it is pending and for `debounce` ms after. While
 * pending the form is `aria-busy` and its submit buttons are `disabled`; their previous
 * state comes back when it settles. `form.submit()` fires no event and is not guarded.
 *
 * Returns the disposer: it removes the listener and restores the form. A pending
 * submission's retries are aborted; an attempt already sent keeps its key in the engine.
 *
 * @example
 * const dispose = guardForm(document.querySelector('form')!, ({ key, signal, formData }) =>
 *   fetch('/messages', { method: 'POST', body: formData, headers: { 'Idempotency-Key': key }, signal }),
 * )
 */
export function guardForm<TData>(
  form: HTMLFormElement,
  handler: (context: GuardFormContext) => Promise<TData>,
  options: GuardFormOptions<TData> = {},
): () => void {
  const { intent, prepare, onSuccess, onError, ...rest } = options;
  const observer = new SubmissionObserver<FormData, TData>(
    (formData, context) => handler({ ...context, formData, form }),
    {
      ...rest,
      onSuccess: onSuccess && ((data, _formData, key) => onSuccess(data, key)),
      onError: onError && ((error, _formData, key) => onError(error, key)),
      intent: (formData) => {
        if (typeof intent === 'function') return intent(formData);
        if (typeof intent === 'object') return intent;
        if (typeof intent === 'string') return actionIntent(intent, formData);
        return { method: (form.getAttribute('method') || 'post').toUpperCase(), url: form.action, body: formData };
      },
    },
  );
  const detach = observer.attach();
  const unbind = showBusy(observer, () => [form, ...submitControls(form)]);
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    // Read before the submit buttons are disabled: disabled controls are left out of FormData.
    void observer.trigger(formDataOf(form, event.submitter));
  };
  const onPrepare = (event: Event) => {
    if (observer.locked || !isSubmitControl(event.target)) return;
    observer.prepare(formDataOf(form, event.target)).catch(() => undefined);
  };
  // Capture, so the guard decides before the page's own submit listeners run.
  form.addEventListener('submit', onSubmit, { capture: true });
  if (prepare) {
    form.addEventListener('pointerdown', onPrepare);
    form.addEventListener('focusin', onPrepare);
  }
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    form.removeEventListener('submit', onSubmit, { capture: true });
    form.removeEventListener('pointerdown', onPrepare);
    form.removeEventListener('focusin', onPrepare);
    unbind();
    detach();
  };
}

/** Submit buttons, including those outside the form that name it with `form="…"`. */
function submitControls(form: HTMLFormElement): Element[] {
  return Array.from(form.elements).filter(isSubmitControl);
}

function isSubmitControl(element: unknown): element is HTMLButtonElement | HTMLInputElement {
  if (element instanceof HTMLButtonElement) return element.type === 'submit';
  return element instanceof HTMLInputElement && (element.type === 'submit' || element.type === 'image');
}

function formDataOf(form: HTMLFormElement, submitter: EventTarget | null): FormData {
  if (isSubmitControl(submitter)) {
    try {
      return new FormData(form, submitter);
    } catch {
      // Older engines take no submitter argument.
    }
  }
  return new FormData(form);
}
