/**
 * INT8 weights for a standard ONNX DequantizeLinear (opset >= 13): symmetric, one scale per output channel
 * (`axis`), zero point 0, values in [-127, 127] so the grid is the same on both sides of zero.
 */
export interface Int8Weights {
  /** Same shape and order as the input weights. */
  quantized: Int8Array;
  /** One per channel along `axis`. */
  scales: Float32Array;
  /** What DequantizeLinear gives back: (q - 0) × scale, as float32. */
  dequantized: Float32Array;
}

/** `weights` is row-major `[rows, cols]`; `axis` 1 gives one scale per column, 0 one per row. */
export function quantizeInt8(
  weights: ArrayLike<number>,
  rows: number,
  cols: number,
  axis: 0 | 1,
): Int8Weights {
  if (weights.length !== rows * cols) throw new RangeError(`weights: expected ${rows}x${cols} values`);
  const channels = axis === 1 ? cols : rows;
  const channel = (r: number, c: number): number => (axis === 1 ? c : r);
  const maxAbs = new Float64Array(channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ch = channel(r, c);
      maxAbs[ch] = Math.max(maxAbs[ch]!, Math.abs(weights[r * cols + c]!));
    }
  }
  // An all-zero channel still needs a finite, non-zero scale; so does one whose scale underflows float32.
  const scales = Float32Array.from(maxAbs, (m) => (Math.fround(m / 127) > 0 ? Math.fround(m / 127) : 1));
  const quantized = new Int8Array(rows * cols);
  const dequantized = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const scale = scales[channel(r, c)]!;
      const q = Math.min(127, Math.max(-127, Math.round(weights[i]! / scale)));
      quantized[i] = q;
      dequantized[i] = Math.fround(q * scale);
    }
  }
  return { quantized, scales, dequantized };
}
