/** What the chaos page puts on `window.chaos`; only structured-cloneable values cross. */

export interface ClientOptions {
  attempts: number;
  baseDelay: number;
  maxDelay: number;
  timeoutMs?: number | undefined;
}

/** One submission's end as the user's code saw it. */
export type SubmitResult =
  | {
      kind: 'response';
      status: number;
      replayed: boolean;
      body: unknown;
      problemType?: string;
      /** The SDK handed the response over, then the page reloaded before its body was read. */
      unread?: true;
      /** The SDK handed the response over, then reading its body failed (a reload, a cut). */
      bodyError?: string;
    }
  | { kind: 'error'; name: string; code?: string; message: string }
  /** The page went away (a reload) before the submission settled: the user saw nothing. */
  | { kind: 'lost'; message: string };

/**
 * Where the page keeps, synchronously, each answer the SDK has handed over, so that a
 * reload right after it does not lose it: an app that must show the outcome across a
 * reload keeps it like this (the SDK retires the key once the answer is handed over).
 */
export const DELIVERED_KEY = 'chaos:delivered';

/**
 * Where the page also keeps each answer for every tab of the origin (localStorage): a tab
 * reloading while offline can report nothing to the runner for seconds, while the user,
 * looking at it, has the answer; another tab asked meanwhile reads it here.
 */
export const ANSWERS_KEY = 'chaos:answers';

export interface ChaosApi {
  setup(options: ClientOptions): void;
  submit(url: string, body: unknown): Promise<SubmitResult>;
  /** `count` submits of one intent in the same tick: a multi-click without a guard. */
  submitMany(count: number, url: string, body: unknown): Promise<SubmitResult[]>;
}

declare global {
  interface Window {
    chaos: ChaosApi;
  }
}
