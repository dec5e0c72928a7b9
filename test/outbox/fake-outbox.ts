/** An `OutboxPort` that records what it is handed and lets a test answer it: the engine's side of the contract, without IndexedDB. */
import type { HeldRequest, OutboxPort } from '../../src/core/outbox-port.js';

export interface FakeOutbox extends OutboxPort {
  offlineNow: boolean;
  held: HeldRequest[];
  /** Settles the last held request's answer. */
  answer(response: Response): void;
  /** Makes the next `hold` reject with `error` (full, unavailable). */
  failNext(error: unknown): void;
}

export function fakeOutbox(): FakeOutbox {
  let resolveLast: ((response: Response) => void) | undefined;
  let failure: { error: unknown } | undefined;
  const outbox: FakeOutbox = {
    offlineNow: false,
    held: [],
    offline: () => outbox.offlineNow,
    async hold(request) {
      if (failure) {
        const { error } = failure;
        failure = undefined;
        throw error;
      }
      outbox.held.push(request);
      return { id: request.key, answer: new Promise<Response>((resolve) => (resolveLast = resolve)) };
    },
    answer: (response) => resolveLast?.(response),
    failNext: (error) => (failure = { error }),
  };
  return outbox;
}

/** Resolves once `outbox` holds `count` requests. */
export async function heldCount(outbox: FakeOutbox, count: number): Promise<void> {
  while (outbox.held.length < count) await new Promise((resolve) => setTimeout(resolve, 2));
}
