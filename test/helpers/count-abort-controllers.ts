import { vi } from 'vitest';

/**
 * Counts the `AbortController`s made from now on, by stubbing the global with a counting
 * subclass; undo it with `vi.unstubAllGlobals()`.
 */
export function countAbortControllers(): () => number {
  let made = 0;
  vi.stubGlobal(
    'AbortController',
    class extends AbortController {
      constructor() {
        super();
        made += 1;
      }
    },
  );
  return () => made;
}
