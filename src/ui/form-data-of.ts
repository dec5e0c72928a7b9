/** The data a form submits, read the way the browser itself would send it. */

/**
 * The form's data with the clicked submit button's name and value, as the browser sends
 * them. Read it before the guard disables the buttons: disabled controls are left out.
 */
export function formDataOf(form: HTMLFormElement, submitter?: EventTarget | null): FormData {
  if (submitter) {
    try {
      return new FormData(form, submitter as HTMLElement);
    } catch {
      // Older engines take no submitter argument, and any engine rejects a non-submit one.
    }
  }
  return new FormData(form);
}
