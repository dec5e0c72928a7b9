/**
 * The order of `bench:server`'s slices in one round: every target next to a slice of its
 * bare baseline, the pairs rotated by one each round and each pair's two slices swapped
 * every other round, so no slice always follows the same one (a target that heats the
 * machine, or leaves garbage behind, does not always tax the same neighbour).
 */
export interface ScheduledSlice<T> {
  /** Index of the pair in the list given. */
  readonly pair: number;
  readonly side: 'target' | 'bare';
  readonly name: T;
}

export function roundOrder<T>(pairs: readonly (readonly [target: T, bare: T])[], round: number): ScheduledSlice<T>[] {
  const order: ScheduledSlice<T>[] = [];
  for (let k = 0; k < pairs.length; k++) {
    const pair = (k + round) % pairs.length;
    const [target, bare] = pairs[pair]!;
    const first: ScheduledSlice<T> = { pair, side: 'target', name: target };
    const second: ScheduledSlice<T> = { pair, side: 'bare', name: bare };
    order.push(...(round % 2 === 0 ? [first, second] : [second, first]));
  }
  return order;
}
