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
import type { InfergateConfig } from '../daemon/config.js';
import { ConfigError, ErrorCodes, isInfergateError } from '../daemon/errors.js';

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
      'validate a config file and list every problem in it; --probe also loads the models and checks each ' +
      "pipeline's measured latency against its budget (exit 1 when one is not met)",
    options: { probe: { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals.length !== 1) throw new UsageError('check-config takes exactly one FILE');
      const file = positionals[0]!;
      const config = loadConfigOrExit(file);
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
};

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function usage(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  const lines = Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return [
    'usage: infergate <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    '  infergate --help | --version',
    '',
    'exit codes: 0 ok, 64 usage error, 65 model or data refused, 66 input unreadable, 70 internal error,',
    '  73 output not writable, 78 invalid config',
    '',
  ].join('\n');
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

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return ExitCodes.OK;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return ExitCodes.OK;
  }
  const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    process.stderr.write(
      `${name === undefined ? 'infergate: missing command' : `infergate: unknown command '${name}'`}\n\n${usage()}`,
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
