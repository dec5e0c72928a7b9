import { createHash } from 'node:crypto';
import { Waiter, type Deadlines } from './deadlines.js';
import { packStep, STEPS, type Step } from './redis-scripts.js';
import { StoreUnavailableError } from './types.js';

export type Arg = string | number;

/** What a batch needs of the client: `evalsha` first (the script body once per connection), `eval` on NOSCRIPT. */
export interface ScriptClient {
  eval(script: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  evalsha?(sha1: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
}

/** One step: its own deadline's waiter, so a step costs one object besides its promise. */
class Pending extends Waiter {
  settled = false;
  sent = false;

  constructor(
    readonly step: Step,
    readonly key: string,
    readonly args: readonly Arg[],
    /** The step's code and arguments, packed (`packStep`). */
    readonly packed: string,
    readonly resolve: (reply: unknown) => void,
    readonly reject: (error: unknown) => void,
    private readonly settle: (pending: Pending, error: unknown) => void,
  ) {
    super();
  }

  expire(error: Error): void {
    this.settle(this, error);
  }
}

const STEPS_SHA = createHash('sha1').update(STEPS).digest('hex');

/**
 * A batch's packed arguments stop growing past this (a step larger alone goes alone):
 * Redis refuses an argument over `proto-max-bulk-len` (512 MB by default, 1 MB at least)
 * and drops the connection, failing every step of the call, so a few large responses
 * completed together failed each other. Small steps (a claim is about 100 characters)
 * still go 256 to a call.
 */
const MAX_BATCH_CHARS = 512 * 1024;

/** A step that was sent and answered 503 on its deadline, and the reply Redis gave it later. */
export type LateReply = (step: Step, key: string, args: readonly Arg[], reply: unknown) => void;

/** A step of a call that failed as a whole (a connection lost before its reply): it may have run in Redis all the same. */
export type LostReply = (step: Step, key: string, args: readonly Arg[]) => void;

/**
 * Sends steps as script calls, one batch in flight at a time: a step queued while Redis
 * is idle goes out on the next tick, and the steps queued meanwhile go out together
 * once the batch in flight has been answered (or has timed out). Under load the claims and
 * completions of many requests share one command and one socket write: ioredis spends
 * more CPU per command than Redis per step, and each write to Redis wakes it. Every step
 * keeps its own deadline from the moment it was queued, and its own answer.
 */
export class StepBatcher {
  #queue: Pending[] = [];
  /** Steps of the batch in flight not answered or timed out yet. */
  #inFlight = 0;
  #scheduled = false;

  constructor(
    private readonly client: ScriptClient,
    private readonly deadlines: Deadlines,
    /** 1 for a cluster client: a script may only touch keys of one slot there. */
    private readonly maxBatch: number,
    /** Told of a sent step's reply that came after its deadline: it ran in Redis all the same. */
    private readonly lateReply?: LateReply,
    /** Told of each step of a call that failed: whether it ran is not known. */
    private readonly lostReply?: LostReply,
  ) {}

  run(step: Step, key: string, args: readonly Arg[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#queue.push(this.deadlines.start(new Pending(step, key, args, packStep(step, args), resolve, reject, this.#onTimeout)));
      this.#schedule();
    });
  }

  /**
   * On the next tick, not at once: the steps that one I/O callback sets off (the
   * completions a reply lets run, which come in later microtasks) go out together.
   */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight > 0) return;
    this.#scheduled = true;
    process.nextTick(this.#send);
  }

  readonly #send = (): void => {
    this.#scheduled = false;
    // A step that timed out while queued was answered 503: it must not run later.
    const ready = this.#queue.filter((pending) => !pending.settled);
    let count = 0;
    let chars = 0;
    while (count < ready.length && count < this.maxBatch) {
      chars += ready[count]!.packed.length;
      if (count > 0 && chars > MAX_BATCH_CHARS) break;
      count++;
    }
    const batch = ready.slice(0, count);
    this.#queue = ready.slice(count);
    if (batch.length === 0) return;
    for (const pending of batch) pending.sent = true;
    this.#inFlight = batch.length;
    const args: Arg[] = [];
    let packed = '';
    for (const pending of batch) {
      args.push(pending.key);
      packed += pending.packed;
    }
    args.push(packed);
    this.#call(batch.length, args).then(
      (reply) => {
        if (!Array.isArray(reply) || reply.length !== batch.length) {
          const error = new StoreUnavailableError(`unexpected reply from Redis: ${JSON.stringify(reply)}`);
          for (const pending of batch) this.#settle(pending, error);
          return;
        }
        for (let i = 0; i < batch.length; i++) {
          const answer: unknown = reply[i];
          const pending = batch[i]!;
          if (pending.settled) this.lateReply?.(pending.step, pending.key, pending.args, answer);
          const failed = Array.isArray(answer) && answer[0] === 'error';
          this.#settle(pending, failed ? new StoreUnavailableError(`Redis command failed: ${String(answer[1])}`) : undefined, answer);
        }
      },
      (error: unknown) => {
        const message = String((error as { message?: unknown }).message ?? error);
        const unavailable = new StoreUnavailableError(`Redis command failed: ${message}`, { cause: error });
        for (const pending of batch) {
          this.lostReply?.(pending.step, pending.key, pending.args);
          this.#settle(pending, unavailable);
        }
      },
    );
  };

  readonly #onTimeout = (pending: Pending, error: unknown): void => this.#settle(pending, error);

  /** Answers one step once (its reply, its error or its timeout); the last step of a batch sends the next. */
  #settle(pending: Pending, error: unknown, reply?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    this.deadlines.finish(pending);
    if (error === undefined) pending.resolve(reply);
    else pending.reject(error);
    if (pending.sent && --this.#inFlight === 0 && this.#queue.length > 0) this.#schedule();
  }

  #call(keys: number, args: Arg[]): Promise<unknown> {
    return evalScript(this.client, STEPS, STEPS_SHA, keys, args);
  }
}

/** EVALSHA first (the script body is sent once per connection), EVAL when Redis does not know it yet. */
export async function evalScript(client: ScriptClient, script: string, sha1: string, keys: number, args: Arg[]): Promise<unknown> {
  if (client.evalsha !== undefined) {
    try {
      return await client.evalsha(sha1, keys, ...args);
    } catch (error) {
      if (!String((error as { message?: unknown }).message).includes('NOSCRIPT')) throw error;
    }
  }
  return client.eval(script, keys, ...args);
}
