/** Bounds of a declared tensor shape (an input field's `shape`, a tensor payload's `shape`). */
export const MAX_TENSOR_DIMS = 8;
/** Values in one tensor: bounds the row a single event may fill (a 3 × 1024 × 1024 image fits). */
export const MAX_TENSOR_VALUES = 4_194_304;

/** Null for a list of 1 to MAX_TENSOR_DIMS positive integers whose product is at most MAX_TENSOR_VALUES. */
export function tensorShapeProblem(value: unknown): string | null {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > MAX_TENSOR_DIMS ||
    !value.every((d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)
  ) {
    return `must be a list of 1 to ${MAX_TENSOR_DIMS} positive integers`;
  }
  const values = (value as number[]).reduce((n, d) => n * d, 1);
  if (values > MAX_TENSOR_VALUES) return `must hold at most ${MAX_TENSOR_VALUES} values, got ${values}`;
  return null;
}
