/**
 * Random variates on top of a seeded uniform generator (mulberry32). The sample data sets must be
 * byte-for-byte reproducible, so only IEEE-exact arithmetic and V8's software Math.log/cos/exp are used.
 */
import type { Random } from '../train/mulberry32.js';

/** Standard normal (Box–Muller; one value per call, the sine half is dropped to keep the stream simple). */
export function normal(random: Random, mean = 0, sd = 1): number {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** exp(normal(mu, sigma)): `median` is e^mu. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(normal(random, 0, sigma));
}

export function bernoulli(random: Random, p: number): boolean {
  return random() < p;
}

/** Integer in [min, max], both ends included. */
export function integer(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Knuth's method: fine for the small rates used here (it takes about `lambda` draws). */
export function poisson(random: Random, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}

/** Index drawn with probability proportional to `weights`. */
export function weightedIndex(random: Random, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let target = random() * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i]!;
    if (target < 0) return i;
  }
  return weights.length - 1;
}

export function weightedPick<T>(random: Random, entries: readonly (readonly [T, number])[]): T {
  return entries[
    weightedIndex(
      random,
      entries.map(([, w]) => w),
    )
  ]![0];
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Rounds to `digits` decimals, so the value written to a data file parses back to the same double. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  const rounded = Math.round(value * factor) / factor;
  return rounded === 0 ? 0 : rounded;
}
