/**
 * One distillation, start to end: read the events, label what is not labelled yet (batches, progress bar,
 * appended to labels.jsonl), split by a hash of the event id (stable across reruns and --limit), train and
 * quantize the student, measure its agreement with the teacher on the held-out events and its latency, write
 * it with its card, and stage it as the pipeline's shadow.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import type { InfergateConfig } from '../../daemon/config.js';
import { compileDecisionRules, type CompiledDecisionRules } from '../../daemon/decision-rules.js';
import { ConfigError, ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { compileInputMapping } from '../../daemon/input-mapping.js';
import { progressBar } from '../common/progress-bar.js';
import { readEventsFile, readStateEvents, type DistillEvent } from './distill-events.js';
import { LABELS_FILE, openLabelStore, type Label } from './label-store.js';
import { stageShadow } from './stage-config.js';
import { evaluateStudent } from './evaluate-student.js';
import { trainStudent, type StudentData } from './student.js';
import { decideConfig, type DistillationReport, type StudentCard } from './student-card.js';
import { encodeRow, openTeacher, teacherSpec, type Teacher } from './teacher.js';

export interface DistillOptions {
  configFile: string;
  pipeline: string;
  teacher: string;
  /** Null: the pipeline's kept inputs in the state database. */
  events: string | null;
  outDir: string;
  holdout: number;
  bits: 4 | 8;
  limit: number | null;
  seed: number;
  hidden: number[];
  epochs: number;
  batch: number;
  writeConfig: boolean;
}

const VALIDATION_SHARE = 0.1;
const MIN_TRAIN_ROWS = 20;
const MIN_HOLDOUT_ROWS = 10;
const INT4_BLOCK_SIZE = 16;

export async function runDistill(config: InfergateConfig, options: DistillOptions): Promise<number> {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const pipeline = config.pipelines.find((p) => p.name === options.pipeline);
  if (pipeline === undefined) {
    throw new ConfigError([{ path: '--pipeline', message: `no pipeline named ${options.pipeline}` }]);
  }
  if (pipeline.input === null) {
    throw new ConfigError([
      {
        path: `pipelines.${pipeline.name}.input`,
        message:
          'the student needs an input mapping; name a tensor (ONNX) pipeline, and the LLM one as --teacher',
      },
    ]);
  }
  const mapping = compileInputMapping(pipeline.input);
  const booleans = new Set(pipeline.input.fields.filter((f) => f.kind === 'boolean').map((f) => f.path));
  const source =
    options.events === null
      ? readStateEvents(config.state.dir, pipeline.name, config.limits)
      : await readEventsFile(options.events, booleans, config.limits);
  const seen = new Set<string>();
  let events = source.events.filter((e) => !seen.has(e.id) && seen.add(e.id) !== undefined);
  if (options.limit !== null) events = events.slice(0, options.limit);
  const rows = new Float32Array(events.length * mapping.width);
  const fitting: { event: DistillEvent; row: number }[] = [];
  for (const event of events) {
    if (encodeRow(mapping, event.fields, rows, fitting.length * mapping.width) === null) {
      fitting.push({ event, row: fitting.length });
    }
  }
  if (fitting.length === 0) {
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `no event in ${source.description} fits pipeline ${pipeline.name}'s input mapping`,
    );
  }
  out(
    `distill: ${fitting.length} events from ${source.description}` +
      (events.length > fitting.length ? ` (${events.length - fitting.length} do not fit the mapping)` : ''),
  );

  const logger = pino({ level: 'warn' }, pino.destination(2));
  const teacher = await openTeacher(teacherSpec(config, options.teacher, mapping), logger);
  let teacherMsPerEvent = 0;
  let labels: ReadonlyMap<string, Label>;
  let rules: CompiledDecisionRules;
  try {
    rules = rulesFor(pipeline.decide, teacher, pipeline.name);
    mkdirSync(options.outDir, { recursive: true });
    const store = openLabelStore(join(options.outDir, LABELS_FILE), {
      teacher: teacher.name,
      sha256: teacher.sha256,
      outputs: teacher.outputWidth,
    });
    const todo = fitting.filter((f) => !store.labels.has(f.event.id));
    out(
      `teacher ${teacher.name} (${teacher.kind}, sha256 ${teacher.sha256.slice(0, 12)}): ` +
        `${fitting.length - todo.length} already labelled, ${todo.length} to label`,
    );
    const bar = progressBar(process.stderr, todo.length, 'labelling');
    const began = performance.now();
    for (let start = 0; start < todo.length; start += options.batch) {
      const batch = todo.slice(start, start + options.batch);
      const labelled = await teacher.label(batch.map((b) => b.event.fields));
      store.append(batch.map((b, i) => ({ id: b.event.id, label: labelled[i]! })));
      bar.update(start + batch.length);
    }
    bar.finish();
    teacherMsPerEvent = todo.length === 0 ? 0 : (performance.now() - began) / todo.length;
    labels = store.labels;
  } finally {
    await teacher.close();
  }

  // Split by a hash of (seed, id): an event stays on its side whatever else is read or limited.
  const width = mapping.width;
  const outputs = teacher.outputWidth;
  const parts = { train: [] as number[], validation: [] as number[], holdout: [] as number[] };
  let skippedByTeacher = 0;
  for (const { event, row } of fitting) {
    const label = labels.get(event.id);
    if (label === undefined || !('outputs' in label)) {
      skippedByTeacher++;
      continue;
    }
    const u = unitHash(options.seed, event.id);
    if (u < options.holdout) parts.holdout.push(row);
    else if (u < options.holdout + (1 - options.holdout) * VALIDATION_SHARE) parts.validation.push(row);
    else parts.train.push(row);
  }
  if (parts.train.length < MIN_TRAIN_ROWS || parts.holdout.length < MIN_HOLDOUT_ROWS) {
    throw new InfergateError(
      ErrorCodes.EVAL_DATA,
      `too few labelled events: ${parts.train.length} to train on (need ${MIN_TRAIN_ROWS}), ` +
        `${parts.holdout.length} held out (need ${MIN_HOLDOUT_ROWS})`,
    );
  }
  const slice = (picked: number[]): StudentData => {
    const x = new Float32Array(picked.length * width);
    const targets = new Float32Array(picked.length * outputs);
    picked.forEach((row, i) => {
      x.set(rows.subarray(row * width, (row + 1) * width), i * width);
      const label = labels.get(fitting[row]!.event.id) as { outputs: Float32Array };
      targets.set(label.outputs, i * outputs);
    });
    return { x, targets, rows: picked.length };
  };
  const [train, validation, holdout] = [slice(parts.train), slice(parts.validation), slice(parts.holdout)];
  out(`training a ${[width, ...options.hidden, outputs].join('-')} student on ${train.rows} events`);
  const student = trainStudent(
    {
      width,
      outputs,
      hidden: options.hidden,
      epochs: options.epochs,
      bits: options.bits,
      blockSize: INT4_BLOCK_SIZE,
      seed: options.seed,
      featureNames: mapping.featureNames,
    },
    train,
    validation.rows > 0 ? validation : train,
    rules,
  );

  const evaluation = await evaluateStudent(student, holdout, rules, outputs);
  const report: DistillationReport = {
    pipeline: pipeline.name,
    teacher: {
      name: teacher.name,
      kind: teacher.kind,
      sha256: teacher.sha256,
      msPerEvent: round(teacherMsPerEvent),
    },
    events: {
      source: source.description,
      read: events.length,
      unfitForMapping: events.length - fitting.length,
      skippedByTeacher,
      train: train.rows,
      validation: validation.rows,
      holdout: holdout.rows,
    },
    agreement: {
      fp32: round(evaluation.fp32Agreement),
      quantized: round(evaluation.agreement),
      validation: round(student.validationAgreement),
      confusion: evaluation.confusion,
    },
    latency: {
      batch: 1,
      p50Ms: round(evaluation.latency.p50Ms),
      p99Ms: round(evaluation.latency.p99Ms),
      meanPerEventMs: round(evaluation.latency.meanPerRowMs),
    },
  };

  const name = `${pipeline.name}-student`;
  const sha256 = createHash('sha256').update(student.quantized).digest('hex');
  const card: StudentCard = {
    name,
    task: outputs === 1 ? 'binary-classification' : 'multiclass-classification',
    description:
      `Student of ${teacher.name} for pipeline ${pipeline.name}, distilled on the box by infergate distill: ` +
      `it learnt the teacher's outputs on ${train.rows} events and agrees with its decisions on ` +
      `${(report.agreement.quantized * 100).toFixed(1)}% of ${holdout.rows} held-out events.`,
    variant: options.bits === 4 ? 'int4' : 'int8',
    file: `${name}.onnx`,
    bytes: student.quantized.length,
    sha256,
    input: { name: 'features', type: 'float32', shape: ['batch', width] },
    inputs: mapping.featureNames.map((feature, i) => ({
      name: feature,
      unit: '',
      transform: student.logInputs.includes(i) ? 'log1p' : 'none',
      mean: student.mean[i]!,
      std: student.std[i]!,
    })),
    output: { name: 'scores', type: 'float32', shape: ['batch', outputs] },
    ...(teacher.labels !== null && outputs > 1 ? { labels: teacher.labels } : {}),
    decide: decideConfig(pipeline.decide),
    quantization: {
      bits: options.bits,
      blockSize: options.bits === 4 ? INT4_BLOCK_SIZE : null,
      quantized: student.quantizeReport.quantized.length,
      bytesFp32: student.quantizeReport.bytesIn,
    },
    training: {
      trainer: 'tools/train/train-mlp.ts',
      targets: 'teacher outputs (soft)',
      hidden: options.hidden,
      epochs: options.epochs,
      bestEpoch: student.bestEpoch,
      quantizationAware: options.bits === 4,
    },
    distillation: report,
    generatedBy: 'infergate distill',
    seed: options.seed,
  };
  const writeOut = (file: string, data: Uint8Array | string): void => {
    try {
      writeFileSync(file, data);
    } catch (error) {
      throw new InfergateError(ErrorCodes.TOOL_OUTPUT, `cannot write ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const modelFile = join(options.outDir, `${name}.onnx`);
  writeOut(modelFile, student.quantized);
  writeOut(join(options.outDir, `${name}.json`), `${JSON.stringify(card, null, 2)}\n`);
  writeOut(join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);

  // Staged next to the live model, so the config's models stay in one place.
  const modelsDir = dirname(config.models[pipeline.model]!.path);
  const stagedModel = join(modelsDir, `${name}.onnx`);
  try {
    copyFileSync(modelFile, stagedModel);
    copyFileSync(join(options.outDir, `${name}.json`), join(modelsDir, `${name}.json`));
  } catch (error) {
    throw new InfergateError(
      ErrorCodes.TOOL_OUTPUT,
      `cannot stage the student in ${modelsDir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const staged = stageShadow({
    configFile: options.configFile,
    pipeline: pipeline.name,
    modelName: name,
    modelPath: stagedModel,
    sha256,
    inPlace: options.writeConfig,
  });

  const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
  out(
    `agreement with the teacher on ${holdout.rows} held-out events: ${pct(report.agreement.quantized)} ` +
      `(INT${options.bits}), ${pct(report.agreement.fp32)} (FP32 before quantization)`,
  );
  out(
    `student latency (batch 1, 1 thread): p50 ${report.latency.p50Ms} ms, p99 ${report.latency.p99Ms} ms; ` +
      (teacherMsPerEvent === 0
        ? 'teacher: nothing labelled in this run'
        : `teacher: ${report.teacher.msPerEvent} ms per event while labelling (batches of ${options.batch})`),
  );
  out(
    `student: ${stagedModel} (${student.quantized.length} bytes, sha256 ${sha256.slice(0, 12)}), card next to it`,
  );
  out(`config change (${staged.file}):\n${staged.diff}`);
  out('next:');
  if (!options.writeConfig) out(`  infergate check-config ${staged.file}`);
  if (!options.writeConfig) out(`  cp ${staged.file} ${options.configFile}   # or rerun with --write-config`);
  out('  systemctl reload infergate   # SIGHUP: the shadow starts on live events, never published');
  out(`  infergate shadow report --pipeline ${pipeline.name}`);
  return 0;
}

/** The pipeline's rules must read the teacher's outputs: they will read the student's, which has the same. */
function rulesFor(
  decide: InfergateConfig['pipelines'][number]['decide'],
  teacher: Teacher,
  pipeline: string,
): CompiledDecisionRules {
  try {
    return compileDecisionRules(decide, teacher.outputWidth, teacher.labels);
  } catch (error) {
    throw new ConfigError([
      {
        path: `pipelines.${pipeline}.decide`,
        message:
          `does not fit the teacher ${teacher.name} (${teacher.outputWidth} outputs` +
          `${teacher.labels === null ? '' : `: ${teacher.labels.join(', ')}`}): ${(error as Error).message}`,
      },
    ]);
  }
}

/** A uniform number in [0, 1) from (seed, id). */
function unitHash(seed: number, id: string): number {
  const digest = createHash('sha256').update(`${seed}\0${id}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
