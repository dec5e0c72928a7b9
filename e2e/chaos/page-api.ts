/** What the chaos page puts on `window.chaos`; only structured-cloneable values cross. */

export interface ClientOptions {
  attempts: number;
  baseDelay: number;
  maxDelay: number;
  timeoutMs?: number | undefined;
}

/** One submission's end as the user's code saw it. */
export type SubmitResult =
  | { kind: 'response'; status: number; replayed: boolean; body: unknown; problemType?: string }
  | { kind: 'error'; name: string; code?: string; message: string }
  /** The page went away (a reload) before the submission settled: the user saw nothing. */
  | { kind: 'lost'; message: string };

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
