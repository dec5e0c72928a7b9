/**
 * `submit-once/react`: submit a user's intent exactly once from React.
 *
 * @example
 * import { useIdempotentSubmit } from 'submit-once/react'
 * const { buttonProps } = useIdempotentSubmit(placeOrder, { intent: 'place-order', input: cart })
 * return <button {...buttonProps}>Place order</button>
 */
export { useIdempotentSubmit } from './use-idempotent-submit.js';
export { usePendingSubmissions } from './use-pending-submissions.js';
export type { PendingSubmissionsSource } from './use-pending-submissions.js';
export type { PendingSubmission } from '../outbox/events.js';
export type { ActionRequest, HeldAction } from '../ui/held-action.js';
export type {
  IdempotentButtonProps,
  IdempotentFormProps,
  UseIdempotentSubmitOptions,
  UseIdempotentSubmitResult,
} from './use-idempotent-submit.js';
export type {
  Action,
  ActionContext,
  SubmissionOptions,
  SubmissionState,
  SubmissionStatus,
} from '../ui/submission-observer.js';
