/** How the hook's and the guards' `held` option describes an action's request to the engine's outbox. */
import type { HeldRequest } from '../core/outbox-port.js';
import type { Held } from '../core/submitter.js';
import { KEY_HEADER } from '../protocol/headers.js';

/**
 * The request an action sends, for the outbox: the key header is added (`Idempotency-Key`).
 * Its fetch modes (`redirect`, `mode`…) as the action's fetch sets them; see `HeldRequest`.
 */
export interface ActionRequest extends Pick<HeldRequest, 'mode' | 'redirect' | 'referrerPolicy' | 'cache' | 'integrity'> {
  method: string;
  url: string;
  headers?: Iterable<[string, string]> | Record<string, string>;
  /** A string, bytes, Blob, FormData or URLSearchParams. */
  body?: unknown;
  /** As the action's fetch (`include`: the cookies of an API on another origin); default `same-origin`. */
  credentials?: 'omit' | 'same-origin' | 'include';
}

/**
 * With the submitter's `outbox` and `queue: true`: what the action sends (`request`), so
 * offline or after an ambiguous end it is kept and replayed with the same key, and how
 * the replay's answer becomes the action's data (`receive`; throw on a refusal, as the
 * action does). `receive` may run more than once for one answer (the submission's
 * `classify` judges a replay through it): keep it free of side effects.
 */
export interface HeldAction<TInput, TData> {
  request: (input: TInput) => ActionRequest;
  receive: (answer: Response) => TData | Promise<TData>;
}

/** `onKey`: a held submission may never call the action, so this is where the UI learns its key. */
export function heldFor<TInput, TData>(held: HeldAction<TInput, TData>, input: TInput, onKey: (key: string) => void): Held<TData> {
  return {
    request: (key) => {
      onKey(key);
      const { headers, ...request } = held.request(input);
      const keyed = new Headers(headers as ConstructorParameters<typeof Headers>[0]);
      keyed.set(KEY_HEADER, key);
      return { ...request, headers: keyed, keyHeader: KEY_HEADER };
    },
    receive: held.receive,
  };
}
