/**
 * Loads the gateway config: YAML or JSON file → defaults → INFERGATE_* environment → validation → one
 * frozen InfergateConfig. Validation collects every problem before failing.
 *
 * Failures:
 * - the file cannot be read or parsed (missing, unreadable, too large, not UTF-8, YAML/JSON syntax, unknown
 *   extension): InfergateError with code IG_ERR_CONFIG_READ, message naming the file and the reason;
 * - the document is invalid: ConfigError (IG_ERR_CONFIG_INVALID) whose `problems` lists every problem.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { type ConfigProblem, ConfigError, ErrorCodes, InfergateError } from '../daemon/errors.js';
import type { InfergateConfig, ModelConfig, PipelineConfig } from '../daemon/config.js';
import { ConfigProblems, isPlainObject, unknownKeyMessage } from './config-problems.js';
import { type FixedSections, GATEWAY_ID_PATTERN, fixedSchema, loadFixedSections } from './schema.js';
import { validateModels } from './validate-models.js';
import { validateEgress } from './validate-egress.js';
import { credentialPath } from './credential-path.js';
import { pathProblem } from './value-checks.js';
import { validatePipelines } from './validate-pipelines.js';
import { sparkplugProblems } from './sparkplug-config.js';
import { stripSharePrefix } from '../daemon/topics.js';
import { fileErrorReason } from './file-error-reason.js';

/** A config is a few kilobytes; anything near this is not one. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
export const MAX_PASSWORD_FILE_BYTES = 64 * 1024;
/** Bounds YAML alias expansion ("billion laughs"). */
const MAX_YAML_ALIASES = 100;

export const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

export interface LoadConfigOptions {
  /** Where INFERGATE_* (and STATE_DIRECTORY) are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface ConfigFromObjectOptions extends LoadConfigOptions {
  /** Relative paths resolve against this directory; default the current directory. */
  baseDir?: string;
  /** Recorded as `config.source`; default null. */
  source?: string | null;
}

export function loadConfig(file: string, options: LoadConfigOptions = {}): InfergateConfig {
  const source = resolve(file);
  const document = readConfigFile(source);
  return configFromObject(document, { ...options, baseDir: dirname(source), source });
}

/** Reads and parses a config file without validating it; throws InfergateError IG_ERR_CONFIG_READ. */
export function readConfigFile(file: string): unknown {
  const extension = extname(file).toLowerCase();
  if (!(CONFIG_EXTENSIONS as readonly string[]).includes(extension)) {
    throw readError(file, `unsupported file type '${extension}': use ${CONFIG_EXTENSIONS.join(', ')}`);
  }
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_FILE_BYTES) throw readError(file, `larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
  } catch (error) {
    if (error instanceof InfergateError) throw error;
    throw readError(file, fileErrorReason(error), error);
  }
  return extension === '.json' ? parseJson(file, text) : parseYaml(file, text);
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw readError(file, `not valid JSON: ${(error as Error).message}`, error);
  }
}

function parseYaml(file: string, text: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    const lines = document.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return `line ${line}, column ${col}: ${error.message.split('\n')[0]}`;
    });
    throw readError(file, `not valid YAML:\n  ${lines.join('\n  ')}`);
  }
  try {
    return document.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
  } catch (error) {
    throw readError(file, `not valid YAML: ${(error as Error).message}`, error);
  }
}

function readError(file: string, reason: string, cause?: unknown): InfergateError {
  return new InfergateError(ErrorCodes.CONFIG_READ, `cannot read config file ${file}: ${reason}`, { cause });
}

/**
 * Validates a parsed document (what `readConfigFile` returns, or an object built in code). Throws
 * ConfigError listing every problem. The result is deep-frozen and shares nothing with `document`.
 */
export function configFromObject(document: unknown, options: ConfigFromObjectOptions = {}): InfergateConfig {
  const env = options.env ?? process.env;
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const problems = new ConfigProblems();

  const sections = Object.keys(fixedSchema(env));
  const allowed = [...sections, 'models', 'pipelines'];
  let root: Record<string, unknown> = {};
  if (isPlainObject(document)) root = document;
  else if (document !== null && document !== undefined) {
    problems.add('', `must be a mapping of sections (${allowed.join(', ')})`);
  }
  const fixedRaw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(root)) {
    if (sections.includes(key)) fixedRaw[key] = value;
    else if (key !== 'models' && key !== 'pipelines') problems.add(key, unknownKeyMessage(key, allowed));
  }

  const fixed = loadFixedSections(fixedRaw, env, problems);
  const models = validateModels(root.models, problems);
  const gatewayId = validGatewayId(fixed.gateway.id);
  const pipelines = validatePipelines(
    root.pipelines,
    {
      modelNames: new Set(isPlainObject(root.models) ? Object.keys(root.models) : []),
      gatewayId,
      modelRuntimes: new Map(
        Object.entries(isPlainObject(root.models) ? root.models : {}).map(([name, model]) => [
          name,
          isPlainObject(model) ? model.runtime : undefined,
        ]),
      ),
    },
    problems,
  );
  crossSectionChecks(fixed, pipelines, problems);
  sparkplugProblems(fixed.sparkplug, pipelines, problems);
  validateEgress(fixed, problems);
  const passwordFile =
    typeof fixed.mqtt.passwordFile === 'string' && pathProblem(fixed.mqtt.passwordFile) === null
      ? resolve(baseDir, fixed.mqtt.passwordFile)
      : fixed.mqtt.passwordFile === null
        ? credentialPath(env, 'mqtt-password')
        : null;
  const password = passwordFile === null ? null : readPassword(passwordFile, problems);

  if (problems.count > 0) throw new ConfigError(inFileOrder(problems.items, allowed));

  const at = (path: string): string => (isAbsolute(path) ? path : resolve(baseDir, path));
  const atOrNull = (path: string | null): string | null => (path === null ? null : at(path));
  const resolvedModels: Record<string, ModelConfig> = {};
  for (const [name, model] of Object.entries(models))
    resolvedModels[name] = { ...model, path: at(model.path) };

  const mqtt = {
    ...fixed.mqtt,
    clientId: fixed.mqtt.clientId ?? `infergate-${fixed.gateway.id}`,
    tls: {
      ...fixed.mqtt.tls,
      ca: atOrNull(fixed.mqtt.tls.ca),
      cert: atOrNull(fixed.mqtt.tls.cert),
      key: atOrNull(fixed.mqtt.tls.key),
    },
    passwordFile,
    password: null,
  };
  // Not enumerable: a config that gets logged or serialised whole must not carry the password along.
  Object.defineProperty(mqtt, 'password', { value: password, enumerable: false });

  const config: InfergateConfig = {
    gateway: fixed.gateway,
    mqtt,
    broker: fixed.broker,
    models: resolvedModels,
    pipelines,
    limits: fixed.limits,
    state: { ...fixed.state, dir: at(fixed.state.dir) },
    privacy: fixed.privacy,
    log: fixed.log,
    metrics: fixed.metrics,
    sparkplug: fixed.sparkplug,
    source: options.source ?? null,
  };
  return deepFreeze(config);
}

/**
 * Groups problems by section in the order sections are documented, and pipelines by index, keeping the
 * order of discovery within a group: the list then reads top to bottom like the file.
 */
function inFileOrder(problems: readonly ConfigProblem[], sections: readonly string[]): ConfigProblem[] {
  const rank = (problem: ConfigProblem): [number, number] => {
    const match = /^([A-Za-z]+)(?:\[(\d+)\])?/.exec(problem.path);
    const section = match === null ? -1 : sections.indexOf(match[1]!);
    return [section === -1 ? -1 : section, match?.[2] === undefined ? -1 : Number(match[2])];
  };
  return problems
    .map((problem, index) => ({ problem, index, rank: rank(problem) }))
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || a.index - b.index)
    .map(({ problem }) => problem);
}

function validGatewayId(id: unknown): string | null {
  return typeof id === 'string' && id.length <= 64 && GATEWAY_ID_PATTERN.test(id) ? id : null;
}

/** Rules that span keys or sections; each key on its own has been checked already. */
function crossSectionChecks(
  fixed: FixedSections,
  pipelines: PipelineConfig[],
  problems: ConfigProblems,
): void {
  const { mqtt, broker } = fixed;
  if (
    Number.isInteger(mqtt.reconnect.minMs) &&
    Number.isInteger(mqtt.reconnect.maxMs) &&
    mqtt.reconnect.minMs > mqtt.reconnect.maxMs
  ) {
    problems.add('mqtt.reconnect.minMs', `must not exceed mqtt.reconnect.maxMs (${mqtt.reconnect.maxMs})`);
  }
  if ((mqtt.tls.cert === null) !== (mqtt.tls.key === null)) {
    problems.add(
      mqtt.tls.cert === null ? 'mqtt.tls.cert' : 'mqtt.tls.key',
      'mqtt.tls.cert and mqtt.tls.key must be given together',
    );
  }
  const scheme = typeof mqtt.url === 'string' ? mqtt.url.split(':')[0] : '';
  if ((mqtt.tls.ca !== null || mqtt.tls.cert !== null) && scheme !== 'mqtts') {
    problems.add('mqtt.tls', 'TLS files are set but mqtt.url is not mqtts://');
  }
  // MQTT 3.1.1 has no password without a user name [MQTT-3.1.2-22].
  if (mqtt.protocolVersion === 4 && mqtt.passwordFile !== null && mqtt.username === null) {
    problems.add('mqtt.username', 'is required with mqtt.passwordFile on MQTT 3.1.1 (protocolVersion 4)');
  }
  if (broker.embedded.enabled === true) {
    if (mqtt.protocolVersion === 5) {
      problems.add(
        'mqtt.protocolVersion',
        'must be 4 with the embedded broker, which speaks MQTT 3.1.1 only',
      );
    }
    pipelines.forEach((pipeline, index) => {
      if (pipeline.subscribe !== stripSharePrefix(pipeline.subscribe)) {
        problems.add(
          `pipelines[${index}].subscribe`,
          'the embedded broker has no shared subscriptions ($share)',
        );
      }
    });
  }
}

/** Reads the password, trimming the one trailing newline editors and `echo` add. */
function readPassword(file: string, problems: ConfigProblems): string | null {
  // Messages name the file and the failure only: never the content.
  try {
    const size = statSync(file).size;
    if (size > MAX_PASSWORD_FILE_BYTES) {
      problems.add('mqtt.passwordFile', `${file} is larger than ${MAX_PASSWORD_FILE_BYTES} bytes`);
      return null;
    }
    const password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (password.length === 0) {
      problems.add('mqtt.passwordFile', `${file} is empty`);
      return null;
    }
    return password;
  } catch (error) {
    problems.add('mqtt.passwordFile', `cannot read ${file}: ${fileErrorReason(error)}`);
    return null;
  }
}

/** Freezes `value` and everything reachable from it (own properties, enumerable or not). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.getOwnPropertyNames(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}
