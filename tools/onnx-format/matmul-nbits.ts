/**
 * INT4 weights for ONNX Runtime's `com.microsoft` MatMulNBits: symmetric block quantization with the
 * operator's default zero point (8), so no zero-point tensor is written. Each block's scale is the one,
 * among max|w|/7 shrunk in 4% steps down to 60% (clipping the largest weights) and max|w|/8 (using the
 * -8 level for a negative extreme), that gives the smallest squared error; ties keep max|w|/7. Layout (ORT contrib op schema):
 * B is uint8 [N, kBlocks, blockSize/2], two 4-bit values per byte, low nibble first, running along K;
 * scales are float32 [N, kBlocks]. K need not be a multiple of the block size: the last block is padded
 * with quantized zeros (8), which the runtime ignores past K.
 */
import { floatTensor, intAttribute, node, uint8Tensor } from './onnx-builders.js';
import type { onnx } from './onnx.js';

export const MATMUL_NBITS_DOMAIN = 'com.microsoft';
const ZERO_POINT = 8;

export interface Int4Weights {
  k: number;
  n: number;
  blockSize: number;
  kBlocks: number;
  /** uint8 [n, kBlocks, blockSize / 2]. */
  packed: Uint8Array;
  /** float32 [n, kBlocks]. */
  scales: Float32Array;
  /** The weights the runtime actually multiplies by, row-major [k, n]: for reference computations. */
  dequantized: Float32Array;
}

/** `weights` is row-major [k, n] (the right-hand side of `x[batch, k] @ W`). */
export function quantizeInt4(
  weights: ArrayLike<number>,
  k: number,
  n: number,
  blockSize: number,
): Int4Weights {
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new RangeError(`MatMulNBits block size must be a power of two >= 16, got ${blockSize}`);
  }
  if (weights.length !== k * n)
    throw new RangeError(`weights: expected ${k}x${n} values, got ${weights.length}`);
  const kBlocks = Math.ceil(k / blockSize);
  const blobSize = blockSize / 2;
  const packed = new Uint8Array(n * kBlocks * blobSize);
  const scales = new Float32Array(n * kBlocks);
  const dequantized = new Float32Array(k * n);
  for (let col = 0; col < n; col++) {
    for (let block = 0; block < kBlocks; block++) {
      const start = block * blockSize;
      const end = Math.min(start + blockSize, k);
      const scale = blockScale(weights, start, end, n, col);
      scales[col * kBlocks + block] = scale;
      const blob = (col * kBlocks + block) * blobSize;
      for (let i = 0; i < blockSize; i++) {
        const row = start + i;
        let q = ZERO_POINT;
        if (row < end) {
          q = quantize(weights[row * n + col]!, scale) + ZERO_POINT;
          dequantized[row * n + col] = Math.fround((q - ZERO_POINT) * scale);
        }
        const byte = blob + (i >> 1);
        packed[byte] = i % 2 === 0 ? q : packed[byte]! | (q << 4);
      }
    }
  }
  return { k, n, blockSize, kBlocks, packed, scales, dequantized };
}

/** The row-major [k, n] weights that MatMulNBits multiplies by, from its packed B and scales. */
export function dequantizeInt4(
  packed: Uint8Array,
  scales: Float32Array,
  k: number,
  n: number,
  blockSize: number,
): Float32Array {
  const kBlocks = Math.ceil(k / blockSize);
  const out = new Float32Array(k * n);
  for (let col = 0; col < n; col++) {
    for (let row = 0; row < k; row++) {
      const block = Math.floor(row / blockSize);
      const i = row % blockSize;
      const byte = packed[(col * kBlocks + block) * (blockSize / 2) + (i >> 1)]!;
      const q = i % 2 === 0 ? byte & 0x0f : byte >> 4;
      out[row * n + col] = Math.fround((q - ZERO_POINT) * scales[col * kBlocks + block]!);
    }
  }
  return out;
}

function quantize(value: number, scale: number): number {
  return Math.min(7, Math.max(-8, Math.round(value / scale)));
}

function blockScale(weights: ArrayLike<number>, start: number, end: number, n: number, col: number): number {
  let maxAbs = 0;
  let extreme = 0;
  for (let row = start; row < end; row++) {
    const w = weights[row * n + col]!;
    if (Math.abs(w) > maxAbs) {
      maxAbs = Math.abs(w);
      extreme = w;
    }
  }
  // An all-zero block still needs a finite, non-zero scale; any value dequantizes zeros to zero.
  if (maxAbs === 0) return 1;
  const candidates: number[] = [];
  for (let step = 0; step <= 10; step++) candidates.push(Math.fround((maxAbs * (1 - step * 0.04)) / 7));
  if (extreme < 0) candidates.push(Math.fround(maxAbs / 8));
  // Denormal weights can make a float32 scale underflow to 0; such a block rounds to zeros at any scale.
  if (!(candidates[0]! > 0)) return 1;
  let best = candidates[0]!;
  let bestError = Infinity;
  for (const scale of candidates) {
    if (!(scale > 0)) continue;
    let error = 0;
    for (let row = start; row < end; row++) {
      const w = weights[row * n + col]!;
      const d = w - Math.fround(quantize(w, scale) * scale);
      error += d * d;
    }
    if (error < bestError) {
      bestError = error;
      best = scale;
    }
  }
  return best;
}

/** A MatMulNBits node `output = input @ W` with its two initializers, named after `prefix`. */
export function matMulNBitsNode(
  prefix: string,
  input: string,
  output: string,
  weights: Int4Weights,
): { node: onnx.INodeProto; initializers: onnx.ITensorProto[] } {
  const b = uint8Tensor(`${prefix}.B`, [weights.n, weights.kBlocks, weights.blockSize / 2], weights.packed);
  const scales = floatTensor(`${prefix}.scales`, [weights.n, weights.kBlocks], weights.scales);
  return {
    node: node('MatMulNBits', [input, b.name, scales.name], [output], {
      name: `${prefix}.MatMulNBits`,
      domain: MATMUL_NBITS_DOMAIN,
      attributes: [
        intAttribute('K', weights.k),
        intAttribute('N', weights.n),
        intAttribute('bits', 4),
        intAttribute('block_size', weights.blockSize),
      ],
    }),
    initializers: [b, scales],
  };
}
