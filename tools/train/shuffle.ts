import type { Random } from './mulberry32.js';

/** Fisher–Yates in place, driven by a seeded generator so the same seed gives the same order everywhere. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
