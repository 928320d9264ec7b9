/**
 * `infergate eval MODEL.onnx DATA [--baseline FP32.onnx]`: runs a labelled CSV or JSON-lines file through
 * the model and prints accuracy, per-class precision/recall, ROC-AUC (binary) or macro F1 (multi-class)
 * and latency; with a baseline, the retention of the headline metric and the decision agreement.
 *
 * Which columns feed the model, in which order: the model card's `inputs` (`<model>.json`, or --card),
 * else --features, else every column but the label. Class names come from the card (`labels` or
 * `classes`) or --labels.
 *
 * An image model (input `[batch, C, H, W]`) takes DATA as a folder with a subfolder per label, or a
 * manifest CSV `file,label`; each image is preprocessed as the card's `preprocessing` says (without one:
 * the model's size, fill, pixel/255).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { ToolExit, ToolUsageError, intOption, toolExitCode } from '../common/cli-exit.js';
import { parseLabelledData, type EvalTask, type LabelledData } from './eval-data.js';
import {
  checkOutputWidth,
  compare,
  formatLatency,
  formatMetrics,
  latency,
  modelMetrics,
  type Scoring,
} from './eval-report.js';
import { openModel, readModelFile, type ModelRun } from './eval-run.js';
import { cardPathFor, readCardHints, type CardHints, type CardPreprocessing } from '../common/model-card.js';
import { listImageSources, readImageData } from './image-data.js';
import { progressBar } from '../common/progress-bar.js';

export async function evalCommand(
  values: Record<string, unknown>,
  positionals: string[],
  usage: string,
): Promise<number> {
  try {
    return await evaluate(values, positionals);
  } catch (error) {
    return toolExitCode(error, usage);
  }
}

function list(value: unknown): string[] | null {
  if (value === undefined) return null;
  const items = String(value)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length === 0 ? null : items;
}

function numberList(value: unknown, name: string): number[] | null {
  const items = list(value);
  if (items === null) return null;
  return items.map((item) => {
    const n = Number(item);
    if (!Number.isFinite(n)) throw new ToolUsageError(`--${name} takes numbers, got '${item}'`);
    return n;
  });
}

async function evaluate(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  if (positionals.length !== 2) throw new ToolUsageError('eval takes a MODEL and a DATA file');
  const [modelFile, dataFile] = positionals as [string, string];
  const baselineFile = values.baseline as string | undefined;
  const batch = intOption(values, 'batch', 1, 1);
  const threads = intOption(values, 'threads', 1, 1);
  const limit = intOption(values, 'limit', 0, 0);
  const threshold = numberList(values.threshold, 'threshold')?.[0] ?? 0.5;
  const json = values.json === true;

  const card =
    values.card !== undefined
      ? await readCardHints(String(values.card), true)
      : await readCardHints(cardPathFor(modelFile), false);
  const bytes = await readModelFile(modelFile);
  const model = await openModel(modelFile, bytes, threads);
  try {
    const task = taskFor(model.layout.outputWidth, card, list(values.labels));
    const widthProblem = checkOutputWidth(task, model.layout.outputWidth);
    if (widthProblem !== null)
      throw new InfergateError(ErrorCodes.EVAL_DATA, `${modelFile}: ${widthProblem}`);
    const image = imageInput(model.layout.rowDims, card);
    let data: LabelledData;
    if (image !== null) {
      if (image.channels * image.height * image.width !== model.layout.inputWidth) {
        throw new InfergateError(
          ErrorCodes.EVAL_DATA,
          `${modelFile} takes ${model.layout.inputWidth} values per image, but the preprocessing gives ` +
            `${image.channels}x${image.height}x${image.width}`,
        );
      }
      let sources = await listImageSources(dataFile);
      if (limit > 0 && limit < sources.length) sources = sources.slice(0, limit);
      const progress = progressBar(process.stderr, sources.length, 'images');
      try {
        data = await readImageData(
          sources,
          { ...image, maxInputPixels: MAX_EVAL_IMAGE_PIXELS },
          model.layout.inputWidth,
          task,
          (done) => progress.update(done),
        );
      } finally {
        progress.finish();
      }
    } else {
      let text: string;
      try {
        text = await readFile(dataFile, 'utf8');
      } catch (error) {
        throw new InfergateError(
          ErrorCodes.TOOL_INPUT,
          `cannot read data ${dataFile}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      data = parseLabelledData(dataFile, text, {
        inputs: card?.inputs ?? list(values.features) ?? [],
        labelColumn: String(values.label ?? 'label'),
        task,
      });
      if (limit > 0 && limit < data.rows) data = head(data, limit);
    }
    if (image === null && data.inputs.length !== model.layout.inputWidth) {
      throw new InfergateError(
        ErrorCodes.EVAL_DATA,
        `${modelFile} takes ${model.layout.inputWidth} input values per row, but ${data.inputs.length} inputs are named` +
          (card?.inputs
            ? ` by the model card ${card.file}`
            : values.features !== undefined
              ? ' by --features'
              : ' (every column but the label)'),
      );
    }
    const scoring: Scoring = {
      task,
      threshold,
      bands: numberList(values.bands, 'bands')?.sort((a, b) => a - b) ?? card?.bands ?? [threshold],
    };
    const run = await runWithProgress(model, data, batch, 'model');
    const metrics = modelMetrics(run.outputs, data.labels, scoring);

    let baseline: { run: ModelRun; metrics: ReturnType<typeof modelMetrics>; sha256: string } | null = null;
    if (baselineFile !== undefined) {
      const baselineBytes = await readModelFile(baselineFile);
      const other = await openModel(baselineFile, baselineBytes, threads);
      try {
        if (
          other.layout.inputWidth !== model.layout.inputWidth ||
          other.layout.outputWidth !== model.layout.outputWidth
        ) {
          throw new InfergateError(
            ErrorCodes.EVAL_DATA,
            `baseline ${baselineFile} is [batch, ${other.layout.inputWidth}] → [batch, ${other.layout.outputWidth}], ` +
              `the model [batch, ${model.layout.inputWidth}] → [batch, ${model.layout.outputWidth}]`,
          );
        }
        const baselineRun = await runWithProgress(other, data, batch, 'baseline');
        baseline = {
          run: baselineRun,
          metrics: modelMetrics(baselineRun.outputs, data.labels, scoring),
          sha256: sha256(baselineBytes),
        };
      } finally {
        await other.close();
      }
    }
    const comparison =
      baseline === null
        ? null
        : compare(
            { outputs: run.outputs, metrics },
            { outputs: baseline.run.outputs, metrics: baseline.metrics },
            scoring,
          );
    const modelLatency = latency(run.callMs, data.rows, run.batch);
    const baselineLatency =
      baseline === null ? null : latency(baseline.run.callMs, data.rows, baseline.run.batch);

    if (json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            model: { file: modelFile, sha256: sha256(bytes), metrics, latency: modelLatency },
            baseline:
              baseline === null
                ? null
                : {
                    file: baselineFile,
                    sha256: baseline.sha256,
                    metrics: baseline.metrics,
                    latency: baselineLatency,
                  },
            comparison,
            data: {
              file: dataFile,
              rows: data.rows,
              ...(image === null ? { inputs: data.inputs } : { preprocessing: image }),
            },
            task: scoring,
          },
          null,
          2,
        )}\n`,
      );
      return ToolExit.OK;
    }
    const positives = data.labels.reduce((s, v) => s + v, 0);
    const lines = [
      `model     ${modelFile} (sha256 ${sha256(bytes).slice(0, 12)}, ${bytes.length.toLocaleString('en-US')} bytes)`,
      ...(baseline === null ? [] : [`baseline  ${baselineFile} (sha256 ${baseline.sha256.slice(0, 12)})`]),
      `data      ${dataFile}: ${data.rows.toLocaleString('en-US')} rows` +
        (task.kind === 'binary'
          ? `, ${positives} ${task.classes[1]} (${((positives / data.rows) * 100).toFixed(2)}%)`
          : ''),
      image !== null
        ? `inputs    images ${image.channels}x${image.height}x${image.width} ${image.layout}, fit ${image.fit}, ` +
          `scale ${image.scale}, mean [${image.mean.join(', ')}], std [${image.std.join(', ')}]` +
          (card?.preprocessing ? ` (${card.file})` : ' (no card preprocessing: defaults)')
        : `inputs    ${data.inputs.length}, ${card?.inputs ? `named by ${card.file}` : values.features !== undefined ? 'named by --features' : 'every column but the label'}`,
      `task      ${
        task.kind === 'binary'
          ? `binary: output ${model.layout.outputName} is P(${task.classes[1]})`
          : `${task.classes.length} classes: ${task.classes.join(', ')}`
      }`,
      '',
      formatMetrics(scoring, metrics, baseline?.metrics ?? null, comparison),
      '',
      'latency',
      formatLatency('model', modelLatency, threads),
      ...(baselineLatency === null ? [] : [formatLatency('baseline', baselineLatency, threads)]),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    return ToolExit.OK;
  } finally {
    await model.close();
  }
}

function taskFor(outputWidth: number, card: CardHints | null, labels: string[] | null): EvalTask {
  if (outputWidth === 1) {
    const classes = labels?.length === 2 ? labels : card?.classes;
    return { kind: 'binary', classes: classes ? [classes[0]!, classes[1]!] : ['0', '1'] };
  }
  const names = labels ?? card?.labels ?? Array.from({ length: outputWidth }, (_, i) => String(i));
  return { kind: 'multiclass', classes: names };
}

/** Beyond the gateway's default: eval reads trusted local files, but still refuses decompression bombs. */
const MAX_EVAL_IMAGE_PIXELS = 64_000_000;

/** The image preprocessing for a model whose rows are images ([C, H, W] or [H, W, C]), else null. */
function imageInput(rowDims: readonly number[], card: CardHints | null): CardPreprocessing | null {
  const dims = rowDims.length > 3 && rowDims[0] === 1 ? rowDims.slice(1) : rowDims;
  if (dims.length !== 3) return null;
  if (card?.preprocessing) return card.preprocessing;
  const [c, h, w] = dims as [number, number, number];
  if (c !== 1 && c !== 3) {
    throw new InfergateError(
      ErrorCodes.EVAL_DATA,
      `the model takes [${dims.join(', ')}] images; without a card 'preprocessing' eval assumes NCHW with 1 or 3 channels`,
    );
  }
  return {
    width: w,
    height: h,
    channels: c,
    fit: 'fill',
    scale: 1 / 255,
    mean: Array<number>(c).fill(0),
    std: Array<number>(c).fill(1),
    layout: 'nchw',
  };
}

function head(data: LabelledData, rows: number): LabelledData {
  const width = data.inputs.length;
  return {
    rows,
    inputs: data.inputs,
    features: data.features.subarray(0, rows * width),
    labels: data.labels.subarray(0, rows),
  };
}

async function runWithProgress(
  model: Awaited<ReturnType<typeof openModel>>,
  data: LabelledData,
  batch: number,
  label: string,
): Promise<ModelRun> {
  const progress = progressBar(process.stderr, data.rows, label);
  try {
    return await model.run(data.features, data.rows, batch, (done) => progress.update(done));
  } finally {
    progress.finish();
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
