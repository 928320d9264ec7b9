import t from 'tap';
import {
  argmax,
  averagePrecision,
  classificationReport,
  rocAuc,
} from '../tools/eval/classification-metrics.js';

// Seven scored rows, one tie across classes (0.4): positives 0.9, 0.7, 0.4; negatives 0.8, 0.4, 0.2, 0.1.
const scores = [0.9, 0.8, 0.7, 0.4, 0.4, 0.2, 0.1];
const labels = [1, 0, 1, 0, 1, 0, 0];

t.test('ROC-AUC counts pairs and gives ties half credit', async (t) => {
  // 0.9 beats 4 negatives, 0.7 beats 3, 0.4 beats 2 and ties 1 (0.5): 9.5 of 3 × 4 pairs.
  t.equal(rocAuc(scores, labels), 9.5 / 12);
  t.equal(rocAuc([0.1, 0.9], [0, 1]), 1, 'perfect ranking');
  t.equal(rocAuc([0.9, 0.1], [0, 1]), 0, 'inverted ranking');
  t.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5, 'all tied');
  t.ok(Number.isNaN(rocAuc([0.2, 0.3], [1, 1])), 'undefined without negatives');
  t.equal(rocAuc(Float32Array.from(scores), Uint8Array.from(labels)), 9.5 / 12, 'typed arrays');
  t.throws(() => rocAuc([0.1], [2]), RangeError, 'labels must be 0/1');
  t.throws(() => rocAuc([NaN], [1]), RangeError, 'NaN scores are refused');
});

t.test('average precision steps once per distinct score', async (t) => {
  // Thresholds 0.9 (P 1/1), 0.7 (P 2/3), 0.4 (P 3/5), each adding recall 1/3: 1/3 + 2/9 + 1/5 = 34/45.
  t.ok(Math.abs(averagePrecision(scores, labels) - 34 / 45) < 1e-12);
  t.equal(averagePrecision([0.9, 0.1], [1, 0]), 1);
  t.ok(Number.isNaN(averagePrecision([0.9], [0])));
});

t.test('accuracy, per-class precision/recall/F1, macro F1, confusion matrix', async (t) => {
  // Threshold 0.5 on the rows above: predicted 1 for 0.9, 0.8, 0.7.
  const predicted = scores.map((s) => (s >= 0.5 ? 1 : 0));
  const report = classificationReport(labels, predicted, 2);
  t.equal(report.accuracy, 5 / 7);
  t.same(report.confusion, [
    [3, 1],
    [1, 2],
  ]);
  t.same(report.perClass[1], { precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3, predicted: 3 });
  t.same(report.perClass[0], { precision: 3 / 4, recall: 3 / 4, f1: 3 / 4, support: 4, predicted: 4 });
  t.equal(report.macroF1, (2 / 3 + 3 / 4) / 2);

  // Three classes: a→a, b→b, c→b, c→c, b→a.
  const multi = classificationReport([0, 1, 2, 2, 1], [0, 1, 1, 2, 0], 3);
  t.equal(multi.accuracy, 3 / 5);
  t.same(
    multi.perClass.map((c) => [c.precision, c.recall]),
    [
      [1 / 2, 1],
      [1 / 2, 1 / 2],
      [1, 1 / 2],
    ],
  );
  t.ok(Math.abs(multi.macroF1 - 11 / 18) < 1e-12, 'macro F1 = mean(2/3, 1/2, 2/3)');

  // A class that is neither in the labels nor predicted is left out of the macro average.
  const absent = classificationReport([0, 1], [0, 1], 3);
  t.equal(absent.macroF1, 1);
  t.same(absent.perClass[2], { precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
  // A class predicted but never right: precision 0, and it counts.
  t.equal(classificationReport([0, 0], [0, 1], 2).macroF1, (2 / 3 + 0) / 2);
  t.throws(() => classificationReport([0, 3], [0, 1], 3), RangeError);
});

t.test('argmax takes the first of equal maxima', async (t) => {
  const rows = Float32Array.from([0.1, 0.7, 0.2, 0.4, 0.4, 0.2]);
  t.equal(argmax(rows, 0, 3), 1);
  t.equal(argmax(rows, 1, 3), 0);
});
