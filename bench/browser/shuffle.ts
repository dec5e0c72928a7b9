/** Fisher-Yates with a seeded xorshift32, so runs order their cases alike. */
let seed = 0x2545f491;

export function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const j = (seed >>> 0) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
