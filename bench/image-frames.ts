/**
 * Camera frames for the image bench: ~1 MP JPEGs of a washer on a conveyor, drawn procedurally (uneven
 * lighting, position and size jitter, sensor noise) with one of the inspection classes' defects or none, so
 * the payloads cost what real camera frames cost to decode. The same seed gives the same bytes.
 */
import sharp from 'sharp';
import { mulberry32 } from '../tools/train/mulberry32.js';

export const FRAME_DEFECTS = ['good', 'scratch', 'missing_hole', 'dent', 'contamination'] as const;

export interface FramePoolOptions {
  /** Distinct frames; the bench cycles through them. */
  count: number;
  width: number;
  height: number;
  seed: number;
  /** JPEG quality, 1–100. */
  quality: number;
}

export interface Frame {
  defect: (typeof FRAME_DEFECTS)[number];
  jpeg: Buffer;
}

export const DEFAULT_FRAME_POOL: FramePoolOptions = {
  count: 20,
  width: 1280,
  height: 800,
  seed: 1,
  quality: 90,
};

interface Washer {
  cx: number;
  cy: number;
  outer: number;
  inner: number;
}

/** Grey level of the part at (x, y), or -1 outside it; the defect changes the shape or the surface. */
function partLevel(x: number, y: number, w: Washer, defect: Frame['defect'], marks: number[][]): number {
  let dx = x - w.cx;
  const dy = y - w.cy;
  // A dent flattens one side of the ring.
  if (defect === 'dent' && dx > w.outer * 0.78) dx = dx * 1.35;
  const r = Math.sqrt(dx * dx + dy * dy);
  if (r > w.outer) return -1;
  if (defect !== 'missing_hole' && r < w.inner) return -1;
  // Brushed metal: brighter towards the rim.
  let level = 150 + 60 * (r / w.outer);
  for (const [mx, my, mr, kind] of marks) {
    const d = Math.hypot(x - mx!, y - my!);
    if (kind === 0 && Math.abs((x - mx!) * 0.35 - (y - my!)) < 2.5 && d < mr!) level = 55; // scratch
    if (kind === 1 && d < mr!) level = 40; // contamination speck
  }
  return level;
}

function drawFrame(index: number, options: FramePoolOptions): { pixels: Buffer; defect: Frame['defect'] } {
  const { width, height } = options;
  const random = mulberry32(options.seed * 7919 + index);
  const defect = FRAME_DEFECTS[index % FRAME_DEFECTS.length]!;
  const size = Math.min(width, height);
  const outer = size * (0.3 + 0.08 * random());
  const washer: Washer = {
    cx: width / 2 + (random() - 0.5) * width * 0.2,
    cy: height / 2 + (random() - 0.5) * height * 0.15,
    outer,
    inner: outer * (0.35 + 0.1 * random()),
  };
  const marks: number[][] = [];
  if (defect === 'scratch') marks.push([washer.cx + outer * 0.2, washer.cy - outer * 0.5, outer * 0.45, 0]);
  if (defect === 'contamination') {
    for (let k = 0; k < 6; k++) {
      const a = random() * 2 * Math.PI;
      const rr = washer.inner + (outer - washer.inner) * random();
      marks.push([washer.cx + rr * Math.cos(a), washer.cy + rr * Math.sin(a), 6 + 10 * random(), 1]);
    }
  }
  const light = 0.8 + 0.4 * random();
  const tilt = (random() - 0.5) * 0.4;
  const pixels = Buffer.alloc(width * height * 3);
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const part = partLevel(x, y, washer, defect, marks);
      // Conveyor belt: dark, lit unevenly from one side.
      const base = part < 0 ? 45 + 25 * (x / width + tilt * (y / height)) : part;
      const noise = (random() + random() + random() - 1.5) * 14;
      const v = Math.max(0, Math.min(255, base * light + noise));
      // A slightly warm light: the decoder's greyscale conversion has real work to do.
      pixels[o++] = Math.min(255, v * 1.04);
      pixels[o++] = v;
      pixels[o++] = v * 0.94;
    }
  }
  return { pixels, defect };
}

/** `count` distinct JPEG frames of `width`×`height`, deterministic for a seed. */
export async function makeFramePool(options: FramePoolOptions = DEFAULT_FRAME_POOL): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (let i = 0; i < options.count; i++) {
    const { pixels, defect } = drawFrame(i, options);
    const jpeg = await sharp(pixels, { raw: { width: options.width, height: options.height, channels: 3 } })
      .jpeg({ quality: options.quality })
      .toBuffer();
    frames.push({ defect, jpeg });
  }
  return frames;
}
