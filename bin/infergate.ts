#!/usr/bin/env node
/**
 * The `infergate` command. Each subcommand is one entry in `commands`; the dispatcher only picks the entry
 * and maps failures to sysexits(3) codes, so new commands (quantize, eval, audit) add an entry and nothing
 * else.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/load-config.js';
import { checkModelFiles } from '../config/validate-models.js';
import type { InfergateConfig } from '../daemon/config.js';
import { ConfigError, ErrorCodes, isInfergateError } from '../daemon/errors.js';
import { DISTILL_OPTIONS } from '../tools/distill/distill-options.js';
import { helpText } from './help-text.js';

/** sysexits(3): what systemd and shell scripts already know how to read. */
const ExitCodes = { OK: 0, USAGE: 64, SOFTWARE: 70, CONFIG: 78 } as const;

interface Command {
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

class UsageError extends Error {}

/** Ends a command with `exitCode` after it has told the user why. */
class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

const packageRoot = findPackageRoot();

const commands: Record<string, Command> = {
  run: {
    usage: 'infergate run [-c|--config FILE]',
    summary: `run the gateway (default config: ${join(packageRoot, 'config', 'default.yaml')})`,
    options: { config: { type: 'string', short: 'c' } },
    async run(values, positionals) {
      if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      const file = (values.config as string | undefined) ?? join(packageRoot, 'config', 'default.yaml');
      const config = loadConfigOrExit(file);
      // Loaded here, not at the top: they pull in the native runtimes, which check-config must not need.
      const [{ pino }, { runGateway }] = await Promise.all([import('pino'), import('./run-gateway.js')]);
      const logger = pino({ level: config.log.level, base: { gateway: config.gateway.id } });
      let code: number;
      try {
        code = await runGateway(config, logger);
      } catch (error) {
        logger.fatal({ err: error }, 'gateway stopped on an unexpected error');
        code = ExitCodes.SOFTWARE;
      }
      await new Promise<void>((done) => logger.flush(() => done()));
      return code;
    },
  },
  'check-config': {
    usage: 'infergate check-config FILE [--probe]',
    summary:
      'validate a config file and every model file in it (exists, readable, pinned sha256), listing ' +
      "every problem; --probe also loads the models and checks each pipeline's measured latency " +
      'against its budget (exit 1 when one is not met)',
    options: { probe: { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals.length !== 1) throw new UsageError('check-config takes exactly one FILE');
      const file = positionals[0]!;
      const config = loadConfigOrExit(file);
      await modelFilesOrExit(file, config);
      if (values.probe === true) {
        // Loaded only here: it pulls in the native runtimes, which a plain check must not need.
        const { probeCommand } = await import('./budget-probe.js');
        return probeCommand(config, file);
      }
      const pipelines = config.pipelines.length;
      const models = Object.keys(config.models).length;
      process.stdout.write(`ok: ${file} (${plural(pipelines, 'pipeline')}, ${plural(models, 'model')})\n`);
      return ExitCodes.OK;
    },
  },
  quantize: {
    usage:
      'infergate quantize IN.onnx OUT.onnx --bits 4|8 [--block-size N] [--min-size N] [--exclude NODE]... [--accuracy-level N]',
    summary: 'rewrite an FP32 ONNX model with INT4 (MatMulNBits) or INT8 (DequantizeLinear) weights',
    options: {
      bits: { type: 'string' },
      'block-size': { type: 'string' },
      'min-size': { type: 'string' },
      exclude: { type: 'string', multiple: true },
      'accuracy-level': { type: 'string' },
    },
    async run(values, positionals) {
      const { quantizeCommand } = await import('../tools/quantize/quantize-command.js');
      return quantizeCommand(values, positionals, this.usage);
    },
  },
  eval: {
    usage:
      'infergate eval MODEL.onnx DATA.csv|.jsonl|IMAGE_DIR|MANIFEST.csv [--baseline FP32.onnx] [--label COL] [--features A,B,..] [--card FILE] ' +
      '[--labels A,B,..] [--threshold T] [--bands A,B] [--batch N] [--threads N] [--limit N] [--json]',
    summary:
      'score a model on labelled data: accuracy, precision/recall, ROC-AUC or macro F1, latency, retention',
    options: {
      baseline: { type: 'string' },
      label: { type: 'string' },
      features: { type: 'string' },
      card: { type: 'string' },
      labels: { type: 'string' },
      threshold: { type: 'string' },
      bands: { type: 'string' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(values, positionals) {
      const { evalCommand } = await import('../tools/eval/eval-command.js');
      return evalCommand(values, positionals, this.usage);
    },
  },
  distill: {
    usage: 'infergate distill -c CONFIG --pipeline P --teacher T [--events FILE | --from-state] [options]',
    summary: "train a small INT4 student on a teacher's labels, stage it as P's shadow (docs/distill.md)",
    options: { ...DISTILL_OPTIONS },
    async run(values, positionals) {
      const { distillCommand } = await import('../tools/distill/distill-command.js');
      return distillCommand(values, positionals, this.usage);
    },
  },
  audit: {
    usage: 'infergate audit verify|export [--since T] [-c FILE | --state DIR]',
    summary: 'check the decision log hash chain, or print decisions since T as JSON lines',
    options: { config: { type: 'string', short: 'c' }, state: { type: 'string' }, since: { type: 'string' } },
    async run(values, positionals) {
      const [action, ...extra] = positionals;
      if ((action !== 'verify' && action !== 'export') || extra.length > 0) {
        throw new UsageError('audit takes verify or export');
      }
      const stateDir =
        (values.state as string | undefined) ??
        loadConfigOrExit((values.config as string | undefined) ?? join(packageRoot, 'config', 'default.yaml'))
          .state.dir;
      const { auditExport, auditVerify, parseSince } = await import('./audit-command.js');
      if (action === 'verify') return auditVerify(stateDir, process.stdout, process.stderr);
      const since = parseSince((values.since as string | undefined) ?? '0');
      if (since === null) throw new UsageError('--since takes an ISO 8601 time or epoch milliseconds');
      return auditExport(stateDir, since, process.stdout);
    },
  },
  decisions: {
    usage: 'infergate decisions [-c FILE | --state DIR] [FILTERS] [-n N] [--json] [--follow]',
    // Broken into lines for `decisions --help`; the top-level help re-wraps on whitespace.
    summary:
      'the latest decisions from the state file, read-only (the service group may run it);\n  ' +
      'FILTERS: --pipeline P, --source model|fallback, --reason R,\n  ' +
      '--since T (ISO 8601, epoch ms, or an age: 90s, 15m, 2h, 7d); -n N rows (default 20);\n  ' +
      '--json prints JSON lines; --follow polls for new ones',
    options: {
      config: { type: 'string', short: 'c' },
      state: { type: 'string' },
      pipeline: { type: 'string' },
      source: { type: 'string' },
      reason: { type: 'string' },
      since: { type: 'string' },
      n: { type: 'string', short: 'n' },
      json: { type: 'boolean' },
      follow: { type: 'boolean', short: 'f' },
    },
    async run(values, positionals) {
      if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      const { decisionsCommand, parseSinceArgument } = await import('./decisions-command.js');
      const since = values.since === undefined ? undefined : parseSinceArgument(values.since as string);
      if (since === null) throw new UsageError('--since takes ISO 8601, epoch milliseconds or an age (15m)');
      const limit = Number((values.n as string | undefined) ?? '20');
      if (!Number.isInteger(limit) || limit < 0) throw new UsageError('-n takes a whole number of rows');
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return decisionsCommand(
        {
          stateDir: stateDirOf(values),
          filter: {
            pipeline: values.pipeline as string | undefined,
            source: values.source as string | undefined,
            reason: values.reason as string | undefined,
            since,
          },
          limit,
          json: values.json === true,
          follow: values.follow === true,
          stop,
        },
        process.stdout,
        process.stderr,
      );
    },
  },
  status: {
    usage: 'infergate status [-c FILE] [--url URL] [--json]',
    summary:
      "one-screen summary of the running gateway, from /status.json on the config's metrics\n  " +
      'listener (or URL); when it does not answer, a summary of the state file and exit 69',
    options: { config: { type: 'string', short: 'c' }, url: { type: 'string' }, json: { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      const config = loadConfigOrExit(
        (values.config as string | undefined) ?? join(packageRoot, 'config', 'default.yaml'),
      );
      const { statusCommand, urlProblem } = await import('./status-command.js');
      const url = (values.url as string | undefined) ?? null;
      const problem = url === null ? null : urlProblem(url, config);
      if (problem !== null) throw new UsageError(problem);
      return statusCommand({ config, url, json: values.json === true }, process.stdout, process.stderr);
    },
  },
  shadow: {
    usage: 'infergate shadow report --pipeline P [--since T] [--json] [-c FILE | --state DIR]',
    summary: "compare a pipeline's shadow decisions with its live ones: agreement, confusion, latency",
    options: {
      config: { type: 'string', short: 'c' },
      state: { type: 'string' },
      pipeline: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(values, positionals) {
      if (positionals[0] !== 'report' || positionals.length > 1) throw new UsageError('shadow takes report');
      const pipeline = values.pipeline as string | undefined;
      if (pipeline === undefined) throw new UsageError('shadow report needs --pipeline P');
      const stateDir = stateDirOf(values);
      const [{ parseSince }, { shadowReportCommand }] = await Promise.all([
        import('./audit-command.js'),
        import('./shadow-command.js'),
      ]);
      const since = parseSince((values.since as string | undefined) ?? '0');
      if (since === null) throw new UsageError('--since takes an ISO 8601 time or epoch milliseconds');
      return shadowReportCommand(stateDir, pipeline, since, values.json === true, process.stdout);
    },
  },
};

/** `--state DIR`, else `state.dir` of `-c FILE` (default: the shipped config). */
function stateDirOf(values: Record<string, unknown>): string {
  if (typeof values.state === 'string') return values.state;
  const file = (values.config as string | undefined) ?? join(packageRoot, 'config', 'default.yaml');
  return loadConfigOrExit(file).state.dir;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function version(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** The directory holding infergate's package.json: two levels above dist/bin, one above bin/ in a checkout. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'infergate') return dir;
    }
    dir = dirname(dir);
  }
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

/** Loads `file`, or prints why it was refused (every problem, one per line) and exits 78. */
function loadConfigOrExit(file: string): InfergateConfig {
  try {
    return loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems)
        process.stderr.write(`${file}: ${problem.path}: ${problem.message}\n`);
      process.stderr.write(`infergate: ${file} is invalid (${plural(error.problems.length, 'problem')})\n`);
      throw new CommandExit(ExitCodes.CONFIG);
    }
    if (isInfergateError(error) && error.code === ErrorCodes.CONFIG_READ) {
      process.stderr.write(`infergate: ${error.message}\n`);
      throw new CommandExit(ExitCodes.CONFIG);
    }
    throw error;
  }
}

/** Checks every model file without loading it; prints each problem like a config problem and exits 78. */
async function modelFilesOrExit(file: string, config: InfergateConfig): Promise<void> {
  const problems = await checkModelFiles(config.models);
  if (problems.length === 0) return;
  for (const problem of problems) process.stderr.write(`${file}: ${problem.path}: ${problem.message}\n`);
  process.stderr.write(`infergate: ${file} is invalid (${plural(problems.length, 'problem')})\n`);
  throw new CommandExit(ExitCodes.CONFIG);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(helpText(Object.values(commands)));
    return ExitCodes.OK;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return ExitCodes.OK;
  }
  const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    process.stderr.write(
      `${name === undefined ? 'infergate: missing command' : `infergate: unknown command '${name}'`}\n\n${helpText(Object.values(commands))}`,
    );
    return ExitCodes.USAGE;
  }

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown options and missing values.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`infergate: ${(error as Error).message}\nusage: ${command.usage}\n`);
      return ExitCodes.USAGE;
    }
    throw error;
  }
  if (parsed.values.help === true) {
    process.stdout.write(`usage: ${command.usage}\n  ${command.summary}\n`);
    return ExitCodes.OK;
  }

  try {
    return await command.run(parsed.values, parsed.positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`infergate: ${error.message}\nusage: ${command.usage}\n`);
      return ExitCodes.USAGE;
    }
    if (error instanceof CommandExit) return error.exitCode;
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `infergate: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(ExitCodes.SOFTWARE);
  },
);
