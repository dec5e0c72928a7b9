/** Typed events, so apps can log and the demo can show what happened to an intent. */

export type SettledOutcome =
  | 'success'
  | 'final'
  | 'ambiguous'
  | 'key-reused'
  | 'outcome-unknown'
  | 'replayed-failure'
  | 'aborted';

export type SubmitEvent =
  | { type: 'key-created'; key: string; fingerprint: string }
  | { type: 'key-reused'; key: string; fingerprint: string; source: 'store' | 'caller' }
  | { type: 'joined'; fingerprint: string }
  | { type: 'attempt'; key: string; fingerprint: string; attempt: number }
  | { type: 'retry'; key: string; fingerprint: string; attempt: number; delayMs: number; status?: number }
  | { type: 'replayed'; key: string; fingerprint: string; status?: number }
  /** Kept in the outbox, to be sent later with this key (`queue: true`). */
  | { type: 'queued'; key: string; fingerprint: string }
  | {
      type: 'settled';
      key: string;
      fingerprint: string;
      outcome: SettledOutcome;
      attempts: number;
      status?: number;
    }
  | { type: 'storage-degraded'; operation: string; error: unknown };

export type SubmitEventListener = (event: SubmitEvent) => void;

/** A listener set whose listeners cannot break the submission by throwing. */
export class EventHub {
  readonly #listeners = new Set<SubmitEventListener>();

  subscribe(listener: SubmitEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: SubmitEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // A logging bug must not turn a placed order into a failure.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
