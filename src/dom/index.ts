/**
 * `submit-once/dom`: guards for pages without React. No framework is imported.
 *
 * @example
 * import { guardForm } from 'submit-once/dom'
 * guardForm(form, ({ key, signal, formData }) =>
 *   fetch(form.action, { method: 'POST', body: formData, headers: { 'Idempotency-Key': key }, signal }))
 */
export { guardButton } from './guard-button.js';
export type { GuardButtonOptions } from './guard-button.js';
export { guardForm } from './guard-form.js';
export type { GuardFormContext, GuardFormOptions } from './guard-form.js';
export type { GuardContext, GuardOptions, IntentInput } from './guard-options.js';
export type { ActionRequest, HeldAction } from '../ui/held-action.js';
