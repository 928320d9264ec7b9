import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { floatTensorValue, node, opset } from '../tools/onnx-format/onnx-builders.js';
import { onnx } from '../tools/onnx-format/onnx.js';
import { packageRoot, tempDir } from './helpers/onnx-fixtures.js';

const cli = path.join(packageRoot, 'dist', 'bin', 'infergate.js');

/** output = input (or input × input), [batch, width]: scores are the data's own numbers. */
function passThrough(file: string, width: number, square = false): void {
  writeFileSync(
    file,
    onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [opset('', 17)],
      producerName: 'eval-fixture',
      graph: {
        name: 'pass',
        node: [square ? node('Mul', ['x', 'x'], ['y']) : node('Identity', ['x'], ['y'])],
        input: [floatTensorValue('x', ['batch', width])],
        output: [floatTensorValue('y', ['batch', width])],
      },
    }).finish(),
  );
}

function evalCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, 'eval', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Scores and labels of classification-metrics.test.ts: ROC-AUC 9.5/12, AP 34/45, accuracy@0.5 5/7.
const BINARY_CSV = 'id,score,label\na,0.9,1\nb,0.8,0\nc,0.7,1\nd,0.4,0\ne,0.4,1\nf,0.2,0\ng,0.1,0\n';

interface EvalJson {
  model: {
    metrics: Record<string, unknown> & { perClass: { name: string; precision: number; recall: number }[] };
  };
  baseline: { metrics: Record<string, unknown> } | null;
  comparison: Record<string, number> | null;
  data: { rows: number; inputs: string[] };
}

t.test(
  'binary: the numbers are the hand-computed ones; the baseline gives retention and agreement',
  async (t) => {
    const dir = tempDir(t);
    const model = path.join(dir, 'pass.onnx');
    const squared = path.join(dir, 'squared.onnx');
    passThrough(model, 1);
    passThrough(squared, 1, true);
    const data = path.join(dir, 'scores.csv');
    writeFileSync(data, BINARY_CSV);

    const result = evalCli(model, data, '--features', 'score', '--baseline', squared, '--json');
    t.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as EvalJson;
    const close = (a: unknown, b: number, what: string): void => {
      t.ok(Math.abs((a as number) - b) < 1e-6, `${what}: ${String(a)} = ${b}`);
    };
    t.same(report.data, { file: data, rows: 7, inputs: ['score'] });
    close(report.model.metrics.rocAuc, 9.5 / 12, 'ROC-AUC');
    close(report.model.metrics.averagePrecision, 34 / 45, 'average precision');
    close(report.model.metrics.accuracy, 5 / 7, 'accuracy at 0.5');
    close(report.model.metrics.macroF1, (2 / 3 + 3 / 4) / 2, 'macro F1');
    close(report.model.metrics.perClass[1]!.precision, 2 / 3, 'precision of class 1');
    close(report.model.metrics.perClass[1]!.recall, 2 / 3, 'recall of class 1');
    // x² keeps the order (same AUC: retention 1), but only 0.81 and 0.64 stay >= 0.5: accuracy 4/7, and
    // row c (0.7 → 0.49) changes side: agreement 6/7.
    close(report.baseline!.metrics.rocAuc, 9.5 / 12, 'baseline ROC-AUC');
    close(report.baseline!.metrics.accuracy, 4 / 7, 'baseline accuracy');
    close(report.comparison!.retention, 1, 'retention');
    close(report.comparison!.accuracyRetention, 5 / 4, 'accuracy retention');
    close(report.comparison!.agreement, 6 / 7, 'agreement');
    close(report.comparison!.maxAbsDiff, 0.24, 'max |difference| (0.4 → 0.16)');

    const text = evalCli(model, data, '--features', 'score', '--baseline', squared, '--bands', '0.3,0.75');
    t.equal(text.status, 0, text.stderr);
    t.match(text.stdout, /ROC-AUC\s+0\.7917\s+0\.7917\s+100\.00%/);
    t.match(text.stdout, /score >= 0\.3: 71\.43% of rows flagged, precision 0\.6000, recall 1\.0000/);
    // Bands < 0.3, 0.3–0.75, >= 0.75: rows b (0.8 → 0.64), d and e (0.4 → 0.16) change band: 4/7 agree.
    t.match(
      text.stdout,
      /agreement: 57\.14% of rows get the same decision band \(< 0\.3, 0\.3–0\.75, >= 0\.75\)/,
    );
    t.match(text.stdout, /latency\n {2}model: batch 1, 1 thread: p50 [\d.]+ ms/);
  },
);

t.test('multi-class JSON lines: nested fields, class names, macro F1 by hand', async (t) => {
  const dir = tempDir(t);
  const model = path.join(dir, 'probs.onnx');
  passThrough(model, 3);
  const rows = [
    [[0.7, 0.2, 0.1], 'a'],
    [[0.1, 0.8, 0.1], 'b'],
    [[0.3, 0.4, 0.3], 'c'],
    [[0.2, 0.2, 0.6], 'c'],
    [[0.5, 0.4, 0.1], 'b'],
  ] as const;
  const data = path.join(dir, 'rows.jsonl');
  writeFileSync(
    data,
    rows.map(([p, label]) => JSON.stringify({ p: { a: p[0], b: p[1], c: p[2] }, truth: label })).join('\n'),
  );
  const result = evalCli(
    model,
    data,
    '--features',
    'p.a,p.b,p.c',
    '--labels',
    'a,b,c',
    '--label',
    'truth',
    '--json',
  );
  t.equal(result.status, 0, result.stderr);
  const metrics = (JSON.parse(result.stdout) as EvalJson).model.metrics;
  t.ok(Math.abs((metrics.macroF1 as number) - 11 / 18) < 1e-9, 'macro F1 = mean(2/3, 1/2, 2/3)');
  t.equal(metrics.accuracy, 3 / 5);
  t.same(metrics.confusion, [
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 1],
  ]);
  t.equal(metrics.rocAuc, null);
});

t.test(
  'a model card names the inputs; one-hot and boolean columns resolve like the pipeline mapping',
  async (t) => {
    const dir = tempDir(t);
    const model = path.join(dir, 'pick.onnx');
    passThrough(model, 3);
    writeFileSync(
      path.join(dir, 'pick.json'),
      JSON.stringify({
        inputs: [{ name: 'kind=x' }, { name: 'flag' }, { name: 'v.w' }],
        labels: ['p', 'q', 'r'],
      }),
    );
    const data = path.join(dir, 'rows.jsonl');
    writeFileSync(
      data,
      [
        { kind: 'x', flag: false, v: { w: 0.2 }, label: 'p' },
        { kind: 'y', flag: true, v: { w: 0.1 }, label: 'q' },
        { kind: 'y', flag: false, v: { w: 0.9 }, label: 2 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const result = evalCli(model, data, '--json');
    t.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as EvalJson;
    t.same(report.data.inputs, ['kind=x', 'flag', 'v.w']);
    t.equal(report.model.metrics.accuracy, 1);
  },
);

t.test('exit codes: 64 usage, 65 data or model refused, 66 unreadable input', async (t) => {
  const dir = tempDir(t);
  const model = path.join(dir, 'pass.onnx');
  passThrough(model, 1);
  const data = path.join(dir, 'scores.csv');
  writeFileSync(data, BINARY_CSV);
  t.equal(evalCli(model).status, 64, 'missing DATA');
  t.equal(evalCli(model, data, '--batch', '0').status, 64, 'batch must be >= 1');

  const noLabel = evalCli(model, data, '--features', 'score', '--label', 'truth');
  t.equal(noLabel.status, 65);
  t.match(noLabel.stderr, /IG_ERR_EVAL_DATA: .*scores\.csv:2: no label column 'truth'/);
  const wide = evalCli(model, data);
  t.equal(wide.status, 65, 'id and score are two inputs for a one-input model');
  t.match(wide.stderr, /IG_ERR_EVAL_DATA: no value|IG_ERR_EVAL_DATA: .*input 'id' is not a finite number/);
  const badCell = path.join(dir, 'bad.csv');
  writeFileSync(badCell, 'score,label\n0.5,1\nhigh,0\n');
  const bad = evalCli(model, badCell);
  t.equal(bad.status, 65);
  t.match(bad.stderr, /bad\.csv:3: input 'score' is not a finite number or boolean/);
  t.notMatch(bad.stderr, /high/, 'the value itself is not echoed');

  const garbage = path.join(dir, 'garbage.onnx');
  writeFileSync(garbage, 'not a model');
  const refused = evalCli(garbage, data, '--features', 'score');
  t.equal(refused.status, 65);
  t.match(refused.stderr, /IG_ERR_MODEL_LOAD/);
  t.equal(evalCli(model, path.join(dir, 'missing.csv')).status, 66);
  t.equal(evalCli(path.join(dir, 'missing.onnx'), data).status, 66);
});
