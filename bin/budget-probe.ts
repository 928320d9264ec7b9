/**
 * `infergate check-config FILE --probe`: loads every model a pipeline uses, exactly as `run` would (sha256,
 * warm-up), and prints each pipeline's measured model latency against its budget. Exit 0 when every budget
 * is met, 1 when one is not, 78 when a model is refused (missing, sha256 mismatch, shape), 70 on other
 * load failures. The numbers are the warm-up's: an idle model, one event at a time; the MQTT round trip and
 * queueing under load come on top. When a pipeline uses an LLM, it also says which llama.cpp build and CPU
 * library were picked: on the same cores they can make several times the difference.
 */
import { pino } from 'pino';
import {
  describeLlamaDevice,
  llamaDeviceInUse,
  type LlamaDeviceReport,
} from '../adapters/llama/device-report.js';
import type { InfergateConfig } from '../daemon/config.js';
import { ErrorCodes, isInfergateError, type ErrorCode } from '../daemon/errors.js';
import type { ModelRunner } from '../daemon/ports.js';
import { modelFactory } from './create-models.js';

export const PROBE_EXIT = { OK: 0, BUDGET_NOT_MET: 1, SOFTWARE: 70, CONFIG: 78 } as const;

const CONFIG_LEVEL_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.MODEL_NOT_FOUND,
  ErrorCodes.MODEL_SHA256_MISMATCH,
  ErrorCodes.MODEL_SHAPE,
]);

export interface ProbeRow {
  pipeline: string;
  model: string;
  runtime: string;
  p50Ms: number;
  p95Ms: number;
  budgetMs: number;
  met: boolean;
}

export interface ProbeResult {
  rows: ProbeRow[];
  /** The llama.cpp build in use while the models were loaded; null when no pipeline uses an LLM. */
  llamaDevice: LlamaDeviceReport | null;
}

/** Loads the models (in turn: a shared box measures one at a time), reads their warm-up, disposes them. */
export async function probeBudgets(config: InfergateConfig, logger: pino.Logger): Promise<ProbeResult> {
  const models = await modelFactory(logger)(config);
  try {
    const used = new Set(config.pipelines.map((p) => p.model));
    for (const [name, runner] of models) if (used.has(name)) await runner.load();
    const usesLlama = config.pipelines.some((p) => config.models[p.model]?.runtime === 'llama');
    const llamaDevice = usesLlama ? llamaDeviceInUse() : null;
    const rows = config.pipelines.map((pipeline) => {
      const info = (models.get(pipeline.model) as ModelRunner).info;
      return {
        pipeline: pipeline.name,
        model: pipeline.model,
        runtime: info.runtime,
        p50Ms: info.warmupP50Ms,
        p95Ms: info.warmupP95Ms,
        budgetMs: pipeline.budgetMs,
        met: info.warmupP95Ms <= pipeline.budgetMs,
      };
    });
    return { rows, llamaDevice };
  } finally {
    await Promise.allSettled([...models.values()].map((model) => model.dispose()));
  }
}

export function probeTable(rows: readonly ProbeRow[]): string {
  const header = ['pipeline', 'model', 'p50 ms', 'p95 ms', 'budget ms', 'result'];
  const body = rows.map((row) => [
    row.pipeline,
    row.model,
    row.p50Ms.toFixed(2),
    row.p95Ms.toFixed(2),
    String(row.budgetMs),
    row.met ? 'ok' : 'NOT MET',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const numeric = new Set([2, 3, 4]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

/** Runs the probe for `check-config --probe`; returns the exit code. */
export async function probeCommand(config: InfergateConfig, file: string): Promise<number> {
  // Warnings (a slow model, llama.cpp's own) go to stderr; the table is stdout.
  const logger = pino({ level: 'warn', base: { gateway: config.gateway.id } }, pino.destination(2));
  const used = new Set(config.pipelines.map((p) => p.model)).size;
  process.stderr.write(`probe: loading ${used} model${used === 1 ? '' : 's'} and warming up (${file})\n`);
  let result: ProbeResult;
  try {
    result = await probeBudgets(config, logger);
  } catch (error) {
    const code = isInfergateError(error) ? error.code : undefined;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`infergate: probe failed: ${code === undefined ? '' : `${code}: `}${message}\n`);
    return code !== undefined && CONFIG_LEVEL_CODES.has(code) ? PROBE_EXIT.CONFIG : PROBE_EXIT.SOFTWARE;
  } finally {
    await new Promise<void>((done) => logger.flush(() => done()));
  }
  const { rows, llamaDevice } = result;
  process.stdout.write(`${probeTable(rows)}\n`);
  if (llamaDevice !== null) process.stdout.write(`llama.cpp: ${describeLlamaDevice(llamaDevice)}\n`);
  const missed = rows.filter((row) => !row.met);
  if (missed.length === 0) {
    process.stdout.write(`ok: every budget is met (warm-up p95, idle model)\n`);
    return PROBE_EXIT.OK;
  }
  process.stdout.write(
    `NOT MET: ${missed.map((row) => row.pipeline).join(', ')}: expect deadline fallbacks; raise budgetMs, or ` +
      'make the model faster (threads, a smaller model or prompt, a GPU)\n',
  );
  return PROBE_EXIT.BUDGET_NOT_MET;
}
