/**
 * `infergate distill`: options, and the exit code of a run in sysexits(3) terms: 78 for a config that
 * cannot serve (invalid file, unknown pipeline, rules that do not fit the teacher, a pinned sha256 that
 * does not match), 66 for missing input (events, teacher, kept inputs), 65 for data or models refused,
 * 73 for outputs that cannot be written.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../../config/load-config.js';
import { ConfigError, ErrorCodes, isInfergateError } from '../../daemon/errors.js';
import { intOption, toolExitCode, ToolUsageError } from '../common/cli-exit.js';
import { runDistill, type DistillOptions } from './distill-run.js';

const EX_CONFIG = 78;

export async function distillCommand(
  values: Record<string, unknown>,
  positionals: string[],
  usage: string,
): Promise<number> {
  try {
    const options = distillOptions(values, positionals);
    const config = loadConfig(options.configFile);
    return await runDistill(config, options);
  } catch (error) {
    return distillExitCode(error, values, usage);
  }
}

function distillExitCode(error: unknown, values: Record<string, unknown>, usage: string): number {
  if (error instanceof ConfigError) {
    const where = String(values.config ?? 'config');
    for (const problem of error.problems)
      process.stderr.write(`${where}: ${problem.path}: ${problem.message}\n`);
    process.stderr.write(`infergate: distill refused the config (${error.problems.length} problem(s))\n`);
    return EX_CONFIG;
  }
  if (
    isInfergateError(error) &&
    (error.code === ErrorCodes.CONFIG_READ ||
      error.code === ErrorCodes.CONFIG_INVALID ||
      error.code === ErrorCodes.MODEL_SHA256_MISMATCH)
  ) {
    process.stderr.write(`infergate: ${error.code}: ${error.message}\n`);
    return EX_CONFIG;
  }
  return toolExitCode(error, usage);
}

function distillOptions(values: Record<string, unknown>, positionals: string[]): DistillOptions {
  if (positionals.length > 0) throw new ToolUsageError(`unexpected argument '${positionals[0]}'`);
  const text = (name: string): string | undefined => values[name] as string | undefined;
  const configFile = text('config');
  const pipeline = text('pipeline');
  const teacher = text('teacher');
  if (configFile === undefined) throw new ToolUsageError('distill needs -c CONFIG');
  if (pipeline === undefined) throw new ToolUsageError('distill needs --pipeline NAME');
  if (teacher === undefined) throw new ToolUsageError('distill needs --teacher PIPELINE|MODEL.onnx');
  const events = text('events');
  if (events !== undefined && values['from-state'] === true) {
    throw new ToolUsageError('give --events FILE or --from-state, not both');
  }
  const holdout = Number(text('holdout') ?? '0.2');
  if (!(holdout > 0 && holdout < 0.9)) throw new ToolUsageError('--holdout must be a fraction in (0, 0.9)');
  const bits = intOption(values, 'bits', 4);
  if (bits !== 4 && bits !== 8) throw new ToolUsageError('--bits must be 4 or 8');
  const hidden = (text('hidden') ?? '16,8').split(',').map((h) => Number(h));
  if (!hidden.every((h) => Number.isInteger(h) && h >= 1 && h <= 1024) || hidden.length > 4) {
    throw new ToolUsageError('--hidden takes up to 4 layer widths, e.g. 16,8');
  }
  const limit = values.limit === undefined ? null : intOption(values, 'limit', 0, 1);
  return {
    configFile: resolve(configFile),
    pipeline,
    teacher,
    events: events === undefined ? null : resolve(events),
    outDir: resolve(text('out') ?? `distill-${pipeline}`),
    holdout,
    bits,
    limit,
    seed: intOption(values, 'seed', 1),
    hidden,
    epochs: intOption(values, 'epochs', 40, 1),
    batch: intOption(values, 'batch', 64, 1),
    writeConfig: values['write-config'] === true,
  };
}
