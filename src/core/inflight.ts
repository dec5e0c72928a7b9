/** One pending attempt per intent: a second submission of the same intent joins the first. */

export class SingleFlight<T> {
  readonly #pending = new Map<string, Promise<T>>();

  /**
   * Starts `run` unless one is pending for `fingerprint`. Registration is synchronous, so
   * two calls in the same tick cannot both start a run.
   */
  run(fingerprint: string, run: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.#pending.get(fingerprint);
    if (existing) return { promise: existing, joined: true };
    const promise = run();
    // Not `finally()`, whose promise settles ticks later: cleared before any caller resumes.
    const clear = () => this.#pending.get(fingerprint) === promise && this.#pending.delete(fingerprint);
    promise.then(clear, clear);
    this.#pending.set(fingerprint, promise);
    return { promise, joined: false };
  }
}
