import { describe, expect, it } from 'vitest';
import { clusteredInterval, median, pairedInterval, quantile } from '../../bench/stats.js';

describe('median', () => {
  it('is the middle value of an odd count, in any order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });

  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is NaN for no values, and leaves its input unsorted', () => {
    expect(median([])).toBeNaN();
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('quantile', () => {
  it('is the nearest rank below which the share lies', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.025)).toBe(3);
    expect(quantile(values, 0.975)).toBe(98);
    expect(quantile(values, 1)).toBe(100);
  });
});

describe('pairedInterval', () => {
  // Noisy samples that move together: what two adjacent bench slices on a loaded machine look like.
  const noise = [120, 310, 150, 290, 180, 400, 130, 260, 210, 170, 350, 140];
  const shifted = noise.map((x) => x + 40);

  it('keeps the samples of one index together, so a shared noise cancels', () => {
    const added = (a: number[], b: number[]) => median(a.map((x, i) => x - b[i]!));
    expect(pairedInterval([shifted, noise], added)).toEqual([40, 40]);
  });

  it('brackets the statistic of the whole sample, within the range of the values', () => {
    const [low, high] = pairedInterval([noise], median);
    expect(low).toBeLessThan(median(noise));
    expect(high).toBeGreaterThan(median(noise));
    expect(low).toBeGreaterThanOrEqual(Math.min(...noise));
    expect(high).toBeLessThanOrEqual(Math.max(...noise));
  });

  it('narrows as the samples agree more', () => {
    const [wideLow, wideHigh] = pairedInterval([noise], median);
    const [low, high] = pairedInterval([noise.map((x) => 200 + (x - 200) / 10)], median);
    expect(high - low).toBeLessThan((wideHigh - wideLow) / 5);
  });

  it('is reproducible from its samples', () => {
    expect(pairedInterval([noise], median)).toEqual(pairedInterval([noise], median));
  });

  it('pairs by index over the shortest series, and is NaN without samples', () => {
    expect(pairedInterval([[1, 2, 3], [1, 2]], (a, b) => a.length + b.length)).toEqual([4, 4]);
    expect(pairedInterval([[]], median)).toEqual([Number.NaN, Number.NaN]);
  });
});

describe('clusteredInterval', () => {
  // Four server processes, four rounds each: the rounds of one process agree closely, the
  // processes do not (one process's luck shifts all of its rounds).
  const luck = [0, 60, -40, 90];
  const groups = luck.flatMap((_, p) => [p, p, p, p]);
  const rounds = luck.flatMap((l, p) => [0, 1, 2, 3].map((i) => 100 + l + ((i * 7 + p) % 4)));

  it('widens to what the groups disagree, where resampling rounds alone does not', () => {
    const [low, high] = clusteredInterval([rounds], groups, median);
    const [pairedLow, pairedHigh] = pairedInterval([rounds], median);
    // The processes sit at about 60, 100, 160 and 190: with four of them, the median of
    // a fifth could lie anywhere in that span, and a truthful interval says so.
    expect(low).toBeLessThan(70);
    expect(high).toBeGreaterThan(180);
    expect(high - low).toBeGreaterThan(1.5 * (pairedHigh - pairedLow));
  });

  it('keeps the samples of one index together across series, so a shared noise cancels', () => {
    const shifted = rounds.map((x) => x + 40);
    const added = (a: number[], b: number[]) => median(a.map((x, i) => x - b[i]!));
    expect(clusteredInterval([shifted, rounds], groups, added)).toEqual([40, 40]);
  });

  it('with one sample per group brackets the median like pairedInterval, reproducibly', () => {
    const singles = rounds.map((_, i) => i);
    const [low, high] = clusteredInterval([rounds], singles, median);
    expect(low).toBeLessThanOrEqual(median(rounds));
    expect(high).toBeGreaterThanOrEqual(median(rounds));
    expect(clusteredInterval([rounds], singles, median)).toEqual([low, high]);
  });

  it('is NaN without samples', () => {
    expect(clusteredInterval([[]], [], median)).toEqual([Number.NaN, Number.NaN]);
  });
});
