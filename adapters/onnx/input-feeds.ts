/**
 * Cuts one model input's values out of a batch of rows and converts them to the element type the input
 * declares. Integer inputs take the value rounded to the nearest integer (halves away from zero) and
 * clamped to the type's range (uint8 0..255, int8 -128..127); float16 inputs take the nearest float16
 * (ties to even), values beyond its range saturating at ±65504. A row of a single-input float32 model is fed
 * as it is: no copy.
 */
import type { InputFeed } from './worker-protocol.js';

export type FeedValues = Float32Array | Uint16Array | Uint8Array | Int8Array;

/** `input` is `rows × rowWidth`; `feed`'s values start at `offset` within each row. */
export function feedValues(
  input: Float32Array,
  rows: number,
  rowWidth: number,
  offset: number,
  feed: InputFeed,
): FeedValues {
  if (feed.type === 'float32' && offset === 0 && feed.width === rowWidth) return input;
  const width = feed.width;
  const out = allocate(feed.type, rows * width);
  for (let row = 0; row < rows; row++) {
    const from = row * rowWidth + offset;
    const to = row * width;
    if (out instanceof Float32Array) {
      out.set(input.subarray(from, from + width), to);
    } else if (out instanceof Uint16Array) {
      for (let i = 0; i < width; i++) out[to + i] = float16Bits(input[from + i]!);
    } else {
      const [min, max] = out instanceof Uint8Array ? [0, 255] : [-128, 127];
      for (let i = 0; i < width; i++) out[to + i] = clampRound(input[from + i]!, min, max);
    }
  }
  return out;
}

function allocate(type: InputFeed['type'], length: number): FeedValues {
  switch (type) {
    case 'float32':
      return new Float32Array(length);
    case 'float16':
      return new Uint16Array(length);
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
  }
}

function clampRound(value: number, min: number, max: number): number {
  // NaN cannot reach here (rows hold finite values); it would read as `min`.
  const rounded = Math.sign(value) * Math.round(Math.abs(value));
  return rounded >= max ? max : rounded > min ? rounded : min;
}

const F16_MAX_BITS = 0x7bff;
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** IEEE 754 binary16 bits of `value`: round to nearest, ties to even; saturating at ±65504; NaN stays NaN. */
export function float16Bits(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | F16_MAX_BITS : sign | 0x7e00;
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | F16_MAX_BITS;
  if (e <= 0) {
    // Subnormal half: value = h × 2^-24.
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  // Rounding up past the largest finite half would give Infinity: saturate instead.
  return sign | Math.min(h, F16_MAX_BITS);
}
