/**
 * Counts a server's work in flight, so that a shutdown can wait for it. A request counts
 * until its response has closed and its handler has settled: a proxied call whose caller
 * hung up still runs, and its completion must reach the store before the store closes.
 * A store call counts too (`createVerifier`): a claim whose caller hung up meanwhile.
 */
export class Drain {
  #open = 0;
  #waiting: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;

  /** Starts one piece of work; the function it returns ends it (once; later calls do nothing). */
  begin(): () => void {
    this.#open++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#open > 0 || this.#waiting === undefined) return;
      this.#waiting.resolve();
      this.#waiting = undefined;
    };
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.#open === 0) return Promise.resolve();
    if (this.#waiting === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#waiting = { promise, resolve };
    }
    return this.#waiting.promise;
  }
}
