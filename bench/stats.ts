/**
 * The statistics both benches print: medians, and 95% intervals by a seeded paired
 * bootstrap, which say whether a few percent is more than one run's noise.
 */

/** The middle value; the mean of the two middle ones for an even count. NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank quantile: the value below which a share `q` of the values lie. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/**
 * A 95% interval of `statistic` by a paired bootstrap: each resample draws sample indices
 * with replacement and takes the same indices from every series, so samples measured at
 * the same moment (one request, one round of slices) stay together. Seeded, so a run's
 * output is reproducible from its samples.
 *
 * @example pairedInterval([row, floor], (a, b) => median(a) / median(b))
 */
export function pairedInterval(
  series: readonly (readonly number[])[],
  statistic: (...resampled: number[][]) => number,
  resamples = 1000,
): [number, number] {
  const n = Math.min(...series.map((s) => s.length));
  if (series.length === 0 || n === 0) return [Number.NaN, Number.NaN];
  const random = xorshift32(0x9e3779b9);
  const picked = series.map(() => new Array<number>(n));
  const results: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const pick = Math.floor(random() * n);
      for (let s = 0; s < series.length; s++) picked[s]![i] = series[s]![pick]!;
    }
    results.push(statistic(...picked));
  }
  return [quantile(results, 0.025), quantile(results, 0.975)];
}

/**
 * A 95% interval of `statistic` by a two-stage (cluster) bootstrap, for samples that come
 * in groups sharing a source of variance the samples within a group cannot show: in
 * `bench:server`, the rounds served by one set of server processes share those processes'
 * luck (JIT decisions, heap layout), which no resampling of rounds alone can see. Each
 * resample draws the groups with replacement, then within each drawn group its samples
 * with replacement, and takes the same indices from every series, as `pairedInterval`
 * does. `groups[i]` names sample i's group. With one sample per group it resamples
 * samples alone; with few groups the interval is as wide as the groups disagree.
 */
export function clusteredInterval(
  series: readonly (readonly number[])[],
  groups: readonly number[],
  statistic: (...resampled: number[][]) => number,
  resamples = 1000,
): [number, number] {
  const n = Math.min(groups.length, ...series.map((s) => s.length));
  if (series.length === 0 || n === 0) return [Number.NaN, Number.NaN];
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) members.set(groups[i]!, [...(members.get(groups[i]!) ?? []), i]);
  const clusters = [...members.values()];
  const random = xorshift32(0x9e3779b9);
  const results: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const picks: number[] = [];
    for (let c = 0; c < clusters.length; c++) {
      const cluster = clusters[Math.floor(random() * clusters.length)]!;
      for (let i = 0; i < cluster.length; i++) picks.push(cluster[Math.floor(random() * cluster.length)]!);
    }
    results.push(statistic(...series.map((s) => picks.map((pick) => s[pick]!))));
  }
  return [quantile(results, 0.025), quantile(results, 0.975)];
}

/** Uniform in [0, 1), deterministic from its seed: enough for resampling and shuffling. */
export function xorshift32(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}
