/**
 * Procedurally rendered camera frames of a stamped washer on a conveyor, for the visual-inspection sample
 * model: 64×64 8-bit grayscale, the part lit from a random side (a brightness gradient across it), placed
 * with position and size jitter, with sensor noise; one of four defects or none.
 *
 * - scratch: a thin dark line across the ring;
 * - missing_hole: the centre hole was never punched (a faint dimple marks where it should be);
 * - dent: a small depression on the ring, lit on one side and shadowed on the other;
 * - contamination: one to three dark, irregular spots (oil, swarf) on the ring.
 *
 * Every image comes from its own mulberry32 stream (seed and index), so image i is the same bytes whatever
 * else is rendered, on every platform: only IEEE-exact arithmetic and V8's software Math functions.
 */
import { mulberry32, type Random } from '../train/mulberry32.js';
import { clamp, normal } from './random-variates.js';

export const PART_IMAGE_SIZE = 64;
export const PART_LABELS = ['good', 'scratch', 'missing_hole', 'dent', 'contamination'] as const;
export type PartLabel = (typeof PART_LABELS)[number];

export interface PartImages {
  count: number;
  /** `count` images of PART_IMAGE_SIZE² bytes, row-major, one after the other. */
  pixels: Uint8Array;
  /** Index into PART_LABELS per image. */
  labels: Uint8Array;
}

const S = PART_IMAGE_SIZE;

/** Image `index` of the set `seed`: its label cycles through PART_LABELS, so every set is balanced. */
export function renderPartImage(seed: number, index: number): { pixels: Uint8Array; label: number } {
  const label = index % PART_LABELS.length;
  const random = mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  return { pixels: renderPart(random, PART_LABELS[label]!), label };
}

export function renderPartImages(seed: number, count: number): PartImages {
  const pixels = new Uint8Array(count * S * S);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const image = renderPartImage(seed, i);
    pixels.set(image.pixels, i * S * S);
    labels[i] = image.label;
  }
  return { count, pixels, labels };
}

/** A smooth 0..1 edge: 1 inside `radius`, 0 outside, anti-aliased over about a pixel. */
const inside = (distance: number, radius: number): number => clamp(radius - distance + 0.5, 0, 1);

function renderPart(random: Random, label: PartLabel): Uint8Array {
  const cx = S / 2 + (random() * 2 - 1) * 5;
  const cy = S / 2 + (random() * 2 - 1) * 5;
  const outer = 20 + random() * 4;
  const hole = 7 + random() * 2.5;
  const background = 25 + random() * 35;
  const metal = 150 + random() * 60;
  const lightAngle = random() * 2 * Math.PI;
  const lightX = Math.cos(lightAngle);
  const lightY = Math.sin(lightAngle);
  const gradient = 8 + random() * 20;
  const noise = 1.5 + random() * 3;

  // Defect geometry, placed on the ring (between the hole and the rim).
  const onRing = (): { x: number; y: number } => {
    const a = random() * 2 * Math.PI;
    const r = hole + 3 + random() * (outer - hole - 6);
    return { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) };
  };
  const holeRadius = label === 'missing_hole' ? 0 : hole;
  let scratch: { x0: number; y0: number; dx: number; dy: number; length: number; depth: number } | null =
    null;
  if (label === 'scratch') {
    const start = onRing();
    const a = random() * 2 * Math.PI;
    scratch = {
      x0: start.x,
      y0: start.y,
      dx: Math.cos(a),
      dy: Math.sin(a),
      length: 12 + random() * 10,
      depth: 90 + random() * 50,
    };
  }
  let dent: { x: number; y: number; radius: number; depth: number; sx: number; sy: number } | null = null;
  if (label === 'dent') {
    const at = onRing();
    const a = random() * 2 * Math.PI;
    dent = { ...at, radius: 5 + random() * 2, depth: 130 + random() * 50, sx: Math.cos(a), sy: Math.sin(a) };
  }
  const spots: { x: number; y: number; rx: number; ry: number; darkness: number }[] = [];
  if (label === 'contamination') {
    const n = 1 + Math.floor(random() * 3);
    for (let i = 0; i < n; i++) {
      const at = onRing();
      spots.push({ ...at, rx: 2 + random() * 1.5, ry: 2 + random() * 1.5, darkness: 0.55 + random() * 0.25 });
    }
  }

  const out = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const dx = px - cx;
      const dy = py - cy;
      const d = Math.sqrt(dx * dx + dy * dy);
      const coverage = inside(d, outer) * (1 - inside(d, holeRadius));
      let surface = metal + gradient * ((dx * lightX + dy * lightY) / outer);
      if (label === 'missing_hole') {
        // The unpunched centre: a shallow dimple, slightly darker.
        surface -= 12 * inside(d, hole - 1.5);
      }
      if (scratch !== null) {
        const along = (px - scratch.x0) * scratch.dx + (py - scratch.y0) * scratch.dy;
        const across = Math.abs((px - scratch.x0) * -scratch.dy + (py - scratch.y0) * scratch.dx);
        if (along >= 0 && along <= scratch.length) surface -= scratch.depth * inside(across, 1);
      }
      if (dent !== null) {
        const ex = px - dent.x;
        const ey = py - dent.y;
        const e = Math.sqrt(ex * ex + ey * ey);
        if (e < dent.radius) {
          // A bowl: the side facing the light is bright, the far side dark.
          const slope = (ex * dent.sx + ey * dent.sy) / dent.radius;
          surface += dent.depth * slope * (1 - e / dent.radius);
        }
      }
      for (const spot of spots) {
        const sx = (px - spot.x) / spot.rx;
        const sy = (py - spot.y) / spot.ry;
        const s = Math.sqrt(sx * sx + sy * sy);
        if (s < 1.5) surface *= 1 - spot.darkness * clamp(1.5 - s, 0, 1);
      }
      const value = background + coverage * (surface - background) + normal(random, 0, noise);
      out[y * S + x] = clamp(Math.round(value), 0, 255);
    }
  }
  return out;
}
