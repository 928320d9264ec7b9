/**
 * `infergate distill` end to end through the CLI: the shipped FP32 atm-risk model teaches a small INT4
 * student on sample transactions; labelling resumes after an interruption without relabelling; the LLM path
 * labels with the tiny test GGUF (plumbing only: a random tiny LLM's labels mean nothing); the staged
 * config pins the student by sha256 and names it as the pipeline's shadow.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { openStateDatabase } from '../daemon/state/schema.js';
import { packageRoot, tempDir } from './helpers/onnx-fixtures.js';
import { llmModelEntry, tinyGguf, TRIAGE_LABELS, triagePipeline } from './helpers/llama-fixtures.js';
import { writeTinyModel } from './helpers/test-models.js';

const cli = path.join(packageRoot, 'dist', 'bin', 'infergate.js');
const models = path.join(packageRoot, 'models');

function infergate(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 90_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A gateway dir: config.yaml with the atm-risk pipeline, its model, the FP32 teacher, and N sample events. */
function atmSetup(dir: string, rows: number): { config: string; events: string; teacher: string } {
  for (const file of ['atm-risk.onnx', 'atm-risk.json', 'atm-risk.fp32.onnx', 'atm-risk.fp32.json']) {
    copyFileSync(path.join(models, file), path.join(dir, file));
  }
  const defaults = readFileSync(path.join(packageRoot, 'config', 'default.yaml'), 'utf8');
  const atmOnly = defaults
    .replace(/ {2}inspection:\n(?: {4}.*\n)+/, '')
    .replace(/\n {2}- name: inspection[\s\S]*$/, '\n')
    .replaceAll('../models/', './')
    .replace('dir: ../state', 'dir: ./state');
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `# the operator's comment stays\n${atmOnly}`);
  const csv = readFileSync(path.join(models, 'data', 'atm-risk.test.csv'), 'utf8').split('\n');
  const events = path.join(dir, 'events.csv');
  writeFileSync(events, `${csv.slice(0, rows + 1).join('\n')}\n`);
  return { config, events, teacher: path.join(dir, 'atm-risk.fp32.onnx') };
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('an FP32 teacher distils into an INT4 student staged as the shadow', async (t) => {
  const dir = tempDir(t);
  const { config, events, teacher } = atmSetup(dir, 2500);
  const out = path.join(dir, 'out');
  const run = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'atm-risk',
    '--teacher',
    teacher,
    '--events',
    events,
    '--out',
    out,
    '--seed',
    '3',
  );
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /0 already labelled, 2500 to label/);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  t.ok(report.agreement.quantized >= 0.9, `held-out agreement ${report.agreement.quantized}`);
  t.ok(report.events.holdout > 300 && report.events.train > 1500);
  t.ok(report.latency.p50Ms < 1, `student p50 ${report.latency.p50Ms} ms`);

  const studentFile = path.join(dir, 'atm-risk-student.onnx');
  const card = JSON.parse(readFileSync(path.join(dir, 'atm-risk-student.json'), 'utf8'));
  t.equal(card.variant, 'int4');
  t.equal(card.sha256, sha256(studentFile));
  t.equal(card.inputs.length, 13);
  t.same(card.decide, {
    threshold: {
      output: 0,
      bands: [
        { min: 0.8, decision: 'reject' },
        { min: 0.4, decision: 'review' },
      ],
      otherwise: 'accept',
    },
  });

  const stagedFile = path.join(dir, 'config.staged.yaml');
  const stagedText = readFileSync(stagedFile, 'utf8');
  t.match(stagedText, /^# the operator's comment stays\n/, 'comments survive');
  const staged = parse(stagedText);
  t.same(staged.models['atm-risk-student'], {
    runtime: 'onnx',
    path: 'atm-risk-student.onnx',
    sha256: sha256(studentFile),
    threads: 1,
  });
  t.equal(staged.pipelines[0].shadow, 'atm-risk-student');
  t.equal(readFileSync(config, 'utf8').includes('shadow'), false, 'the live config is untouched');

  const check = infergate('check-config', stagedFile);
  t.equal(check.status, 0, `the staged config passes check-config: ${check.stderr}`);
});

t.test('labelling resumes after an interruption and never relabels', async (t) => {
  const dir = tempDir(t);
  const { config, events, teacher } = atmSetup(dir, 900);
  const out = path.join(dir, 'out');
  const args = ['distill', '-c', config, '--pipeline', 'atm-risk', '--teacher', teacher, '--events', events];
  const first = infergate(...args, '--out', out, '--limit', '500', '--batch', '50', '--epochs', '5');
  t.equal(first.status, 0, first.stderr);
  const labels = path.join(out, 'labels.jsonl');
  t.equal(readFileSync(labels, 'utf8').trim().split('\n').length, 501, 'header + 500 labels');

  // A crash inside a write leaves a torn last line: it is dropped, and only the rest is labelled.
  appendFileSync(labels, '{"id":"tx-torn","y":[0.');
  const second = infergate(...args, '--out', out, '--batch', '50', '--epochs', '5');
  t.equal(second.status, 0, second.stderr);
  t.match(second.stdout, /500 already labelled, 400 to label/);
  const lines = readFileSync(labels, 'utf8').trim().split('\n');
  t.equal(lines.length, 901);
  t.equal(new Set(lines.slice(1).map((l) => JSON.parse(l).id)).size, 900, 'every event labelled once');

  const third = infergate(...args, '--out', out, '--epochs', '5');
  t.equal(third.status, 0, third.stderr);
  t.match(third.stdout, /900 already labelled, 0 to label/);

  const other = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'atm-risk',
    '--teacher',
    path.join(dir, 'atm-risk.onnx'),
    '--events',
    events,
    '--out',
    out,
  );
  t.equal(other.status, 65, 'labels of another teacher are refused, not mixed');
  t.match(other.stderr, /IG_ERR_DISTILL_LABELS/);
});

t.test('clear errors: unknown pipeline 78, missing events 66, no kept inputs 66', async (t) => {
  const dir = tempDir(t);
  const { config, events, teacher } = atmSetup(dir, 50);
  const unknown = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'nope',
    '--teacher',
    teacher,
    '--events',
    events,
  );
  t.equal(unknown.status, 78);
  t.match(unknown.stderr, /no pipeline named nope/);
  const missing = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'atm-risk',
    '--teacher',
    teacher,
    '--events',
    path.join(dir, 'none.csv'),
  );
  t.equal(missing.status, 66);
  const noTeacher = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'atm-risk',
    '--teacher',
    path.join(dir, 'none.onnx'),
    '--events',
    events,
  );
  t.equal(noTeacher.status, 66);
  const noState = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'atm-risk',
    '--teacher',
    teacher,
    '--from-state',
  );
  t.equal(noState.status, 66, noState.stderr);
  const usage = infergate('distill', '-c', config, '--pipeline', 'atm-risk');
  t.equal(usage.status, 64);
});

t.test('an LLM classify pipeline labels, the student learns its label distribution', async (t) => {
  const dir = tempDir(t);
  const gguf = await tinyGguf();
  await writeTinyModel(path.join(dir, 'live.onnx'), { inputs: 4, outputs: 3 });
  writeFileSync(path.join(dir, 'live.json'), JSON.stringify({ labels: TRIAGE_LABELS }));
  const config = path.join(dir, 'config.yaml');
  const tx = {
    name: 'tx',
    subscribe: 'tx2/+/in',
    publish: 'tx2/{1}/out',
    model: 'live',
    budgetMs: 300,
    fallback: 'review',
    input: { fields: ['amount', 'hour', 'distanceKm', { path: 'cardPresent', type: 'boolean' }] },
    decide: { argmax: { minConfidence: 0 } },
  };
  writeFileSync(
    config,
    JSON.stringify({
      gateway: { id: 'gw-distill' },
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      state: { dir: './state' },
      models: { llm: llmModelEntry(gguf.path), live: { runtime: 'onnx', path: './live.onnx' } },
      pipelines: [triagePipeline(), tx],
    }),
  );
  const lines: string[] = [];
  for (let i = 0; i < 80; i++) {
    lines.push(
      JSON.stringify({
        id: `e-${i}`,
        amount: 10 + ((i * 37) % 400),
        currency: i % 3 === 0 ? 'EUR' : 'USD',
        hour: i % 24,
        distanceKm: (i * 13) % 900,
        cardPresent: i % 2 === 0,
      }),
    );
  }
  const events = path.join(dir, 'events.jsonl');
  writeFileSync(events, `${lines.join('\n')}\n`);
  const out = path.join(dir, 'out');
  const run = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'tx',
    '--teacher',
    'triage',
    '--events',
    events,
    '--out',
    out,
    '--hidden',
    '8',
    '--epochs',
    '5',
    '--batch',
    '16',
  );
  t.equal(run.status, 0, run.stderr);
  const labels = readFileSync(path.join(out, 'labels.jsonl'), 'utf8').trim().split('\n');
  t.equal(labels.length, 81);
  const header = JSON.parse(labels[0]!);
  t.equal(header.sha256, gguf.sha256, 'labels name the GGUF they came from');
  for (const line of labels.slice(1)) {
    const y = JSON.parse(line).y as number[];
    t.equal(y.length, 3);
    t.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'a label distribution');
  }
  const card = JSON.parse(readFileSync(path.join(dir, 'tx-student.json'), 'utf8'));
  t.same(card.labels, TRIAGE_LABELS);
  t.equal(card.distillation.teacher.kind, 'llm');
  const staged = parse(readFileSync(path.join(dir, 'config.staged.yaml'), 'utf8'));
  t.equal(staged.pipelines[1].shadow, 'tx-student');
  t.equal(staged.models['tx-student'].sha256, sha256(path.join(dir, 'tx-student.onnx')));
});

t.test('--from-state reads the inputs the gateway kept (privacy.keepInput)', async (t) => {
  const dir = tempDir(t);
  const { config, teacher } = atmSetup(dir, 0);
  const db = openStateDatabase({ dir: path.join(dir, 'state'), retentionHours: 24, synchronous: 'normal' });
  const insert = db.prepare(
    `INSERT INTO events (pipeline, event_id, topic, received_at, deadline_at, payload, input_sha256, state)
     VALUES ('atm-risk', ?, 'atm/T1/tx', ?, ?, ?, 'x', 'published')`,
  );
  const [header, ...rows] = readFileSync(path.join(models, 'data', 'atm-risk.test.csv'), 'utf8').split('\n');
  const columns = header!.split(',');
  rows.slice(0, 400).forEach((line, i) => {
    const cells = line.split(',');
    const event: Record<string, unknown> = { velocity: {} };
    columns.forEach((column, c) => {
      const value = column === 'currency' || column.length < 3 ? cells[c] : Number(cells[c]);
      if (column.startsWith('velocity.'))
        (event.velocity as Record<string, unknown>)[column.slice(9)] = value;
      else event[column] = column === 'cardPresent' ? value === 1 : value;
    });
    // One event recorded without its input (keepInput off at the time): skipped.
    insert.run(`ev-${i}`, i, i + 300, i === 0 ? null : Buffer.from(JSON.stringify(event)));
  });
  db.close();
  const run = infergate(
    'distill',
    '-c',
    config,
    '--pipeline',
    'atm-risk',
    '--teacher',
    teacher,
    '--from-state',
    '--out',
    path.join(dir, 'out'),
    '--epochs',
    '5',
  );
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /399 events from .*kept inputs/);
});
