/**
 * mulberry32: a tiny 32-bit seeded PRNG. Generated sample models must be byte-for-byte reproducible, so
 * their weights come from this (integer arithmetic only, same sequence on every platform), never from
 * Math.random.
 */
export type Random = () => number;

/** Returns a generator of floats in [0, 1), fully determined by `seed` (taken as uint32). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [-limit, limit). */
export function uniform(random: Random, limit: number): number {
  return (random() * 2 - 1) * limit;
}
