/**
 * Classification metrics for `infergate eval` and the sample-model cards. Conventions (those of
 * scikit-learn, so numbers can be checked there):
 * - precision of a class never predicted is 0, recall of a class absent from the labels is 0;
 * - macro F1 averages over the classes that occur in the labels or the predictions;
 * - ROC-AUC gives tied scores half credit (average ranks: the Mann–Whitney U statistic);
 * - average precision steps at each distinct score (tied scores form one threshold).
 */

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose label is this class. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
}

export interface ClassificationReport {
  rows: number;
  accuracy: number;
  /** Indexed by class. */
  perClass: ClassMetrics[];
  macroF1: number;
  /** confusion[actual][predicted]. */
  confusion: number[][];
}

/** `actual` and `predicted` hold class indices in [0, classes). */
export function classificationReport(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): ClassificationReport {
  if (actual.length !== predicted.length) throw new RangeError('actual and predicted differ in length');
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const p = predicted[i]!;
    if (!(a >= 0 && a < classes && p >= 0 && p < classes))
      throw new RangeError(`row ${i}: class out of range`);
    confusion[a]![p]!++;
    if (a === p) correct++;
  }
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    const predictedCount = confusion.reduce((s, row) => s + row[c]!, 0);
    const precision = predictedCount === 0 ? 0 : tp / predictedCount;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass.push({ precision, recall, f1, support, predicted: predictedCount });
  }
  const present = perClass.filter((m) => m.support > 0 || m.predicted > 0);
  return {
    rows: actual.length,
    accuracy: actual.length === 0 ? 0 : correct / actual.length,
    perClass,
    macroF1: present.length === 0 ? 0 : present.reduce((s, m) => s + m.f1, 0) / present.length,
    confusion,
  };
}

/** Indices of `scores` sorted by score, descending; ties keep row order (a stable sort). */
function descending(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]!);
  return order;
}

function checkBinary(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`row ${i}: binary label must be 0 or 1`);
    if (Number.isNaN(scores[i])) throw new RangeError(`row ${i}: score is NaN`);
  }
}

/** Area under the ROC curve; NaN when either class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkBinary(scores, labels);
  const order = descending(scores);
  const n = order.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  // For each positive, count the negatives ranked below it, and half of those tied with it.
  let favourable = 0;
  let negativesBelow = negatives;
  for (let start = 0; start < n;) {
    let end = start;
    let groupPositives = 0;
    let groupNegatives = 0;
    while (end < n && scores[order[end]!] === scores[order[start]!]) {
      if (labels[order[end]!] === 1) groupPositives++;
      else groupNegatives++;
      end++;
    }
    negativesBelow -= groupNegatives;
    favourable += groupPositives * (negativesBelow + groupNegatives / 2);
    start = end;
  }
  return favourable / (positives * negatives);
}

/** Average precision (area under the precision–recall curve, step-wise); NaN without positives. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkBinary(scores, labels);
  const order = descending(scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  if (positives === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let sum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    let groupPositives = 0;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) {
      groupPositives += labels[order[end]!]!;
      end++;
    }
    tp += groupPositives;
    seen = end;
    sum += (groupPositives / positives) * (tp / seen);
    start = end;
  }
  return sum;
}

/** Index of the largest value in row `row` of a row-major `rows × width` array; the first wins a tie. */
export function argmax(values: ArrayLike<number>, row: number, width: number): number {
  let best = 0;
  for (let k = 1; k < width; k++) if (values[row * width + k]! > values[row * width + best]!) best = k;
  return best;
}
