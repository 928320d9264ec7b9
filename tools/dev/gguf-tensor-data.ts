/**
 * Tensor payloads for generated GGUF files: random Q4_0 weights and F32 vectors, produced in chunks so a
 * 1 GB model streams to disk. Q4_0 (ggml-quants.c `block_q4_0`): an fp16 scale d, then 16 bytes holding 32
 * 4-bit values q (element j in the low nibble of byte j, element j + 16 in the high nibble); weight = d·(q − 8).
 * Random weights are drawn directly as uniform nibbles under one scale per tensor: same distribution as
 * quantizing uniform floats, without a float pass over a billion values.
 */
import { Q4_0_BLOCK_BYTES, Q4_0_BLOCK_WEIGHTS } from './gguf-writer.js';
import type { Random } from '../train/mulberry32.js';

const BLOCKS_PER_CHUNK = 1 << 16;
const FLOATS_PER_CHUNK = 1 << 18;
/** Standard deviation of q − 8 for q uniform on 0..15. */
const NIBBLE_STD = Math.sqrt((16 * 16 - 1) / 12);

/**
 * `count` weights (a multiple of 32) with standard deviation `std`, as Q4_0 blocks. `random` draws floats in
 * [0, 1) (mulberry32), taken 32 bits at a time.
 */
export function* randomQ4_0(count: number, std: number, random: Random): Generator<Uint8Array> {
  if (count % Q4_0_BLOCK_WEIGHTS !== 0)
    throw new RangeError(`Q4_0 needs a multiple of 32 weights, got ${count}`);
  const scale = float16Bits(std / NIBBLE_STD);
  let blocks = count / Q4_0_BLOCK_WEIGHTS;
  while (blocks > 0) {
    const n = Math.min(blocks, BLOCKS_PER_CHUNK);
    const chunk = new Uint8Array(n * Q4_0_BLOCK_BYTES);
    const view = new DataView(chunk.buffer);
    for (let block = 0; block < n; block += 1) {
      const at = block * Q4_0_BLOCK_BYTES;
      view.setUint16(at, scale, true);
      for (let word = 0; word < 4; word += 1) {
        view.setUint32(at + 2 + word * 4, (random() * 4294967296) >>> 0, true);
      }
    }
    blocks -= n;
    yield chunk;
  }
}

/** `count` F32 values, each `value`. */
export function* constantF32(count: number, value: number): Generator<Uint8Array> {
  let left = count;
  while (left > 0) {
    const n = Math.min(left, FLOATS_PER_CHUNK);
    const chunk = new Float32Array(n).fill(value);
    left -= n;
    yield new Uint8Array(chunk.buffer);
  }
}

/** `count` F32 values uniform in [-limit, limit). */
export function* uniformF32(count: number, limit: number, random: Random): Generator<Uint8Array> {
  let left = count;
  while (left > 0) {
    const n = Math.min(left, FLOATS_PER_CHUNK);
    const chunk = new Float32Array(n);
    for (let i = 0; i < n; i += 1) chunk[i] = (random() * 2 - 1) * limit;
    left -= n;
    yield new Uint8Array(chunk.buffer);
  }
}

/** IEEE 754 half-precision bits of `value` (round to nearest even; no NaN handling needed here). */
export function float16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? 1 : 0));
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? 1 : 0));
}
