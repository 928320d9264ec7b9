/**
 * The teacher that labels events: another pipeline of the config (an ONNX classifier, or an LLM `classify`
 * pipeline whose label distribution is the label), or a larger ONNX model file fed through the student's
 * pipeline mapping. A tool has no event loop to protect, so ONNX runs on this thread (tools/eval's runner);
 * the LLM runs through the gateway's own llama adapter, the same prompt layout and label scoring as `run`.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { InfergateConfig, ModelConfig, PipelineConfig } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, isInfergateError, ModelError } from '../../daemon/errors.js';
import { compileInputMapping, type CompiledInputMapping } from '../../daemon/input-mapping.js';
import type { EventFields, Logger } from '../../daemon/ports.js';
import { compilePromptTemplate } from '../../daemon/prompt-template.js';
import { cardPathFor, readCardHints } from '../common/model-card.js';
import { openModel, readModelFile } from '../eval/eval-run.js';
import type { Label } from './label-store.js';

export interface Teacher {
  /** The pipeline name, or the model file's name. */
  name: string;
  kind: 'onnx' | 'llm';
  sha256: string;
  outputWidth: number;
  /** One label per output (LLM labels, or the ONNX model card's), or null. */
  labels: string[] | null;
  /** Events per call the runtime takes at once. */
  concurrency: number;
  /** One label per event, in order; an event the teacher cannot take is `skipped` with the error code. */
  label(events: readonly EventFields[]): Promise<Label[]>;
  close(): Promise<void>;
}

export type TeacherSpec =
  | { kind: 'pipeline'; pipeline: PipelineConfig; model: ModelConfig }
  | { kind: 'file'; file: string; mapping: CompiledInputMapping };

/** A pipeline of the config when one has that name, else a model file. */
export function teacherSpec(
  config: InfergateConfig,
  teacher: string,
  studentMapping: CompiledInputMapping,
): TeacherSpec {
  const pipeline = config.pipelines.find((p) => p.name === teacher);
  if (pipeline !== undefined) return { kind: 'pipeline', pipeline, model: config.models[pipeline.model]! };
  if (/\.gguf$/i.test(teacher)) {
    throw new ConfigError([
      {
        path: '--teacher',
        message: 'a GGUF teacher needs a prompt: configure an LLM classify pipeline and name it',
      },
    ]);
  }
  return { kind: 'file', file: teacher, mapping: studentMapping };
}

export async function openTeacher(spec: TeacherSpec, logger: Logger): Promise<Teacher> {
  if (spec.kind === 'file') return openOnnxTeacher(basename(spec.file), spec.file, null, spec.mapping);
  const { pipeline, model } = spec;
  if (model.runtime === 'onnx') {
    return openOnnxTeacher(pipeline.name, model.path, model.sha256, compileInputMapping(pipeline.input!));
  }
  if (pipeline.prompt === null || pipeline.prompt.mode !== 'classify') {
    throw new ConfigError([
      {
        path: `pipelines.${pipeline.name}.prompt.mode`,
        message: 'an LLM teacher must be a classify pipeline (its label distribution is the label)',
      },
    ]);
  }
  return openLlmTeacher(pipeline, model, logger);
}

async function openOnnxTeacher(
  name: string,
  file: string,
  pinned: string | null,
  mapping: CompiledInputMapping,
): Promise<Teacher> {
  const bytes = await readModelFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (pinned !== null && pinned !== sha256) {
    throw new ModelError(
      ErrorCodes.MODEL_SHA256_MISMATCH,
      `teacher ${name}: ${file} has sha256 ${sha256}, the config pins ${pinned}`,
    );
  }
  const model = await openModel(file, bytes, 1);
  if (model.layout.inputWidth !== mapping.width) {
    await model.close();
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `teacher ${name}: the input mapping yields ${mapping.width} values per row, the model takes ` +
        `${model.layout.inputWidth}`,
    );
  }
  const card = await readCardHints(cardPathFor(file), false);
  const width = mapping.width;
  return {
    name,
    kind: 'onnx',
    sha256,
    outputWidth: model.layout.outputWidth,
    labels: card?.labels ?? null,
    concurrency: 64,
    async label(events) {
      const rows = new Float32Array(events.length * width);
      const ok: number[] = [];
      const result: Label[] = events.map(() => ({ skipped: '' }));
      events.forEach((event, i) => {
        const problem = encodeRow(mapping, event, rows, ok.length * width);
        if (problem === null) ok.push(i);
        else result[i] = { skipped: problem };
      });
      if (ok.length === 0) return result;
      const out = width * ok.length === rows.length ? rows : rows.subarray(0, ok.length * width);
      const run = await model.run(out, ok.length, ok.length);
      const outWidth = model.layout.outputWidth;
      ok.forEach((index, row) => {
        result[index] = { outputs: run.outputs.slice(row * outWidth, (row + 1) * outWidth) };
      });
      return result;
    },
    close: () => model.close(),
  };
}

/** Writes one row; the error code when the event does not fit the mapping. */
export function encodeRow(
  mapping: CompiledInputMapping,
  event: EventFields,
  target: Float32Array,
  offset: number,
): string | null {
  try {
    mapping.fill(event, target, offset);
    return null;
  } catch (error) {
    if (isInfergateError(error)) return error.code;
    throw error;
  }
}

async function openLlmTeacher(
  pipeline: PipelineConfig,
  model: ModelConfig,
  logger: Logger,
): Promise<Teacher> {
  const prompt = pipeline.prompt!;
  const { createLlamaModel } = await import('../../adapters/llama/index.js');
  const runner = createLlamaModel({
    logger,
    model,
    pipeline: { name: pipeline.name, prompt, budgetMs: pipeline.budgetMs },
    warmup: { runs: 5, timeLimitMs: 2000 },
  });
  const info = await runner.load();
  const template = compilePromptTemplate(prompt);
  const sequences = runner.concurrency;
  const width = prompt.labels.length;
  return {
    name: pipeline.name,
    kind: 'llm',
    sha256: info.sha256,
    outputWidth: width,
    labels: [...prompt.labels],
    concurrency: sequences,
    async label(events) {
      const result: Label[] = events.map(() => ({ skipped: '' }));
      const prompts: { index: number; text: string }[] = [];
      events.forEach((event, index) => {
        try {
          const text = template.render(event);
          runner.checkInput(text);
          prompts.push({ index, text });
        } catch (error) {
          if (!isInfergateError(error)) throw error;
          result[index] = { skipped: error.code };
        }
      });
      for (let start = 0; start < prompts.length; start += sequences) {
        const chunk = prompts.slice(start, start + sequences);
        const run = await runner.run(
          chunk.map((p) => p.text),
          chunk.length,
        );
        chunk.forEach((p, row) => {
          result[p.index] = { outputs: run.outputs.slice(row * width, (row + 1) * width) };
        });
      }
      return result;
    },
    close: () => runner.dispose(),
  };
}
