/**
 * What `bench:server` concludes from its slices. Each target ran in short slices, each
 * right next to a slice of its bare baseline (same framework), round after round; a
 * target's figures are computed per round from that adjacent pair, so load that comes and
 * goes on the machine hits both sides of a pair and cancels out of the difference. Each
 * round's slices are served by one of several processes per target; the intervals resample
 * those processes as well as the rounds (`clusteredInterval`), since a process's own luck
 * (JIT, heap layout) shifts every round it serves and resampling rounds cannot see it.
 */
import { clusteredInterval, median } from '../stats.js';

/** One side of a pair, one value per round: CPU µs per request and requests per second. */
export interface Slices {
  readonly cpu: readonly number[];
  readonly rps: readonly number[];
}

/** A target's slices and those of the bare baseline slice adjacent to each. */
export interface Pair {
  readonly target: Slices;
  readonly bare: Slices;
  /**
   * Which set of processes served each round (the same for every pair of a run): the
   * rounds of one set are resampled together. Without it each round is its own.
   */
  readonly processes?: readonly number[];
}

/** A median over the rounds and its 95% bootstrap interval. */
export interface Estimate {
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

/** An estimate in µs a request, signed: `+12 (4 to 20)`. */
export const formatMicros = (e: Estimate): string => `${e.median >= 0 ? '+' : ''}${Math.round(e.median)} (${Math.round(e.low)} to ${Math.round(e.high)})`;

/** An estimate as a multiple: `0.80x (0.78 to 0.81)`. */
export const formatRatio = (e: Estimate): string => `${e.median.toFixed(2)}x (${e.low.toFixed(2)} to ${e.high.toFixed(2)})`;

export interface TargetSummary {
  readonly cpu: number;
  readonly rps: number;
  /** CPU µs/req over the adjacent bare slice. */
  readonly added: Estimate;
  /** req/s as a share of the adjacent bare slice's. */
  readonly rpsVsBare: Estimate;
  /** The added CPU as a multiple of the peer's: median over median, rounds resampled together. */
  readonly vsPeer?: Estimate;
  /** The added CPU minus the peer's in the same round, µs/req: below 0 is cheaper than the peer. */
  readonly overPeer?: Estimate;
  /**
   * The same difference read from the two targets' slices alone: their CPU per request
   * minus the peer's in the same round. Both added costs are over the same framework's
   * bare server, so it estimates the same quantity, from two slices a round where
   * `overPeer` takes four (each bare slice's noise included).
   */
  readonly overPeerDirect?: Estimate;
}

export function summarise(pair: Pair, peer?: Pair): TargetSummary {
  const added = differences(pair);
  const rpsRatios = pair.target.rps.map((rps, i) => rps / pair.bare.rps[i]!);
  const summary = {
    cpu: median(pair.target.cpu),
    rps: median(pair.target.rps),
    added: estimate([added], groups(pair), median),
    rpsVsBare: estimate([rpsRatios], groups(pair), median),
  };
  if (peer === undefined || peer === pair) return summary;
  const peerAdded = differences(peer);
  return {
    ...summary,
    // A ratio per round would divide by the peer's few µs of one round, which noise can
    // bring near 0 or below it; the ratio of the medians stays finite.
    vsPeer: estimate([added, peerAdded], groups(pair), (a, p) => median(a) / median(p)),
    overPeer: estimate([added, peerAdded], groups(pair), medianDifference),
    overPeerDirect: estimate([pair.target.cpu, peer.target.cpu], groups(pair), medianDifference),
  };
}

/**
 * One store's target against the memory store's, both from the same rounds (issue 11's
 * store targets are ratios of two targets): CPU per request and added CPU, each as the
 * ratio of the medians, rounds resampled together.
 */
export function againstMemory(store: Pair, memory: Pair): { cpu: Estimate; added: Estimate } {
  return {
    cpu: estimate([store.target.cpu, memory.target.cpu], groups(store), (s, m) => median(s) / median(m)),
    added: estimate([differences(store), differences(memory)], groups(store), (s, m) => median(s) / median(m)),
  };
}

/** Which of a store's figures issue 11 holds to the memory store's, and by what factor. */
export interface StoreTarget {
  readonly measure: 'cpu' | 'added';
  readonly factor: number;
}

/**
 * How far a store is from its target, paired round by round: the store's figure minus
 * `factor` times the memory store's in the same round, µs/req (below 0 is within the
 * target). Unlike the ratio of medians, its interval stays finite and readable when the
 * memory store's added cost comes near 0 in a round, which is where a ratio's blows up.
 */
export function marginOverMemory(store: Pair, memory: Pair, { measure, factor }: StoreTarget): Estimate {
  const [s, m] = measure === 'cpu' ? [store.target.cpu, memory.target.cpu] : [differences(store), differences(memory)];
  return estimate([s, m], groups(store), (a, b) => median(a.map((x, i) => x - factor * b[i]!)));
}

/** The median of the round-by-round differences of two series from the same rounds. */
function medianDifference(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x - b[i]!));
}

function differences({ target, bare }: Pair): number[] {
  const rounds = Math.min(target.cpu.length, bare.cpu.length);
  return Array.from({ length: rounds }, (_, i) => target.cpu[i]! - bare.cpu[i]!);
}

function groups({ target, processes }: Pair): readonly number[] {
  return processes ?? target.cpu.map((_, round) => round);
}

function estimate(series: readonly (readonly number[])[], groups: readonly number[], statistic: (...resampled: number[][]) => number): Estimate {
  const [low, high] = clusteredInterval(series, groups, statistic);
  return { median: statistic(...series.map((s) => [...s])), low, high };
}
