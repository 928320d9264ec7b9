/** Rounding for result files and formatting for printed tables: a missing number is `null` / `-`. */

export function round(x: number | null | undefined, digits = 2): number | null {
  return x === null || x === undefined || !Number.isFinite(x)
    ? null
    : Math.round(x * 10 ** digits) / 10 ** digits;
}

export function fmt(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}
