/**
 * The convict schema for the fixed config sections (`gateway`, `mqtt`, `broker`, `limits`, `state`,
 * `privacy`, `log`, `metrics`): defaults, `INFERGATE_*` environment overrides and the check for every key.
 * `models` and `pipelines` are maps/lists of user-named entries, which convict cannot describe; they are
 * validated by validate-models.ts and validate-pipelines.ts.
 */
import convict from 'convict';
import type {
  EmbeddedBrokerConfig,
  InputLimits,
  LogLevel,
  MetricsConfig,
  MqttConfig,
  PrivacyConfig,
  StateConfig,
} from '../daemon/config.js';
import { ConfigProblems, childPath, isPlainObject, unknownKeyMessage } from './config-problems.js';
import { mqttUrlProblem, patternProblem, textProblem } from './value-checks.js';
import { sparkplugSchema, type SparkplugSection } from './sparkplug-config.js';
import {
  type SchemaNode,
  boolKey,
  enumKey,
  intKey,
  isLeaf,
  leaf,
  pathKey,
  schemaLeaves,
} from './schema-leaf.js';

/** The fixed sections as convict holds them: `mqtt.clientId` may still be null (derived later). */
export interface FixedSections {
  gateway: { id: string };
  mqtt: Omit<MqttConfig, 'password' | 'clientId'> & { clientId: string | null };
  broker: { embedded: EmbeddedBrokerConfig };
  limits: InputLimits;
  state: StateConfig;
  privacy: PrivacyConfig;
  log: { level: LogLevel };
  metrics: MetricsConfig;
  sparkplug: SparkplugSection;
}

/** systemd sets STATE_DIRECTORY (colon-separated when the unit lists several) for `StateDirectory=`. */
function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  return fromSystemd !== undefined && fromSystemd !== '' ? fromSystemd : './state';
}

export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The schema for the fixed sections; `env` supplies `STATE_DIRECTORY` for the state.dir default. */
export function fixedSchema(env: NodeJS.ProcessEnv): SchemaNode {
  return {
    gateway: {
      id: leaf(
        {
          doc: 'Gateway id; names the status and dead-letter topics infergate/<id>/…; one topic level.',
          env: 'INFERGATE_GATEWAY_ID',
        },
        null,
        'infergate-string',
        (v) => patternProblem(v, GATEWAY_ID_PATTERN, '[A-Za-z0-9_-]+ (a single MQTT topic level)', 64),
      ),
    },
    mqtt: {
      url: leaf(
        {
          doc: 'Broker URL: mqtt:// or mqtts:// host[:port], or unix:///path.',
          env: 'INFERGATE_MQTT_URL',
        },
        'mqtt://127.0.0.1:1883',
        'infergate-string',
        mqttUrlProblem,
      ),
      protocolVersion: enumKey(
        { doc: 'MQTT protocol level: 4 (3.1.1) or 5.', env: 'INFERGATE_MQTT_PROTOCOL_VERSION' },
        5,
        [4, 5],
      ),
      clientId: leaf(
        {
          doc: 'MQTT client id, stable across restarts; null derives infergate-<gateway.id>.',
          env: 'INFERGATE_MQTT_CLIENT_ID',
          nullable: true,
        },
        null,
        'infergate-optional-string',
        (v) => patternProblem(v, /^[^\s]+$/, 'a string without spaces', 256),
      ),
      keepaliveSec: intKey(
        { doc: 'Keepalive interval, seconds.', env: 'INFERGATE_MQTT_KEEPALIVE_SEC' },
        30,
        1,
        3600,
      ),
      sessionExpirySec: intKey(
        {
          doc: 'MQTT 5 session expiry, seconds; 0 is refused: it would drop the session on disconnect.',
          env: 'INFERGATE_MQTT_SESSION_EXPIRY_SEC',
        },
        86400,
        1,
        4294967295,
      ),
      receiveMaximum: intKey(
        {
          doc: 'MQTT 5 Receive Maximum: QoS 1 messages in flight to us.',
          env: 'INFERGATE_MQTT_RECEIVE_MAXIMUM',
        },
        64,
        1,
        65535,
      ),
      connectTimeoutMs: intKey(
        { doc: 'Connect (CONNACK) timeout, milliseconds.', env: 'INFERGATE_MQTT_CONNECT_TIMEOUT_MS' },
        10000,
        100,
        300000,
      ),
      reconnect: {
        minMs: intKey(
          { doc: 'First reconnect delay, milliseconds.', env: 'INFERGATE_MQTT_RECONNECT_MIN_MS' },
          500,
          10,
          3600000,
        ),
        maxMs: intKey(
          {
            doc: 'Largest reconnect delay (backoff cap), milliseconds.',
            env: 'INFERGATE_MQTT_RECONNECT_MAX_MS',
          },
          30000,
          10,
          3600000,
        ),
      },
      tls: {
        ca: pathKey({ doc: 'CA bundle (PEM) path.', env: 'INFERGATE_MQTT_TLS_CA', nullable: true }, null),
        cert: pathKey(
          { doc: 'Client certificate (PEM) path.', env: 'INFERGATE_MQTT_TLS_CERT', nullable: true },
          null,
        ),
        key: pathKey(
          { doc: 'Client private key (PEM) path.', env: 'INFERGATE_MQTT_TLS_KEY', nullable: true },
          null,
        ),
        rejectUnauthorized: boolKey(
          { doc: 'Verify the broker certificate.', env: 'INFERGATE_MQTT_TLS_REJECT_UNAUTHORIZED' },
          true,
        ),
      },
      username: leaf(
        { doc: 'MQTT user name.', env: 'INFERGATE_MQTT_USERNAME', nullable: true },
        null,
        'infergate-optional-string',
        (v) => textProblem(v, 1024),
      ),
      passwordFile: pathKey(
        {
          doc: 'File holding the MQTT password (one trailing newline is trimmed).',
          env: 'INFERGATE_MQTT_PASSWORD_FILE',
          nullable: true,
        },
        null,
      ),
    },
    broker: {
      embedded: {
        enabled: boolKey(
          { doc: 'Start the embedded aedes broker (MQTT 3.1.1).', env: 'INFERGATE_BROKER_EMBEDDED_ENABLED' },
          false,
        ),
        host: leaf(
          { doc: 'Address the embedded broker listens on.', env: 'INFERGATE_BROKER_EMBEDDED_HOST' },
          '127.0.0.1',
          'infergate-string',
          (v) => patternProblem(v, /^[A-Za-z0-9.:_-]+$/, 'a host name or IP address', 255),
        ),
        port: intKey(
          { doc: 'Port of the embedded broker; 0 picks a free one.', env: 'INFERGATE_BROKER_EMBEDDED_PORT' },
          1883,
          0,
          65535,
        ),
      },
    },
    limits: {
      maxPayloadBytes: intKey(
        { doc: 'Largest event payload accepted, bytes.', env: 'INFERGATE_LIMITS_MAX_PAYLOAD_BYTES' },
        65536,
        1,
        16777216,
      ),
      maxDepth: intKey(
        { doc: 'Deepest JSON nesting accepted.', env: 'INFERGATE_LIMITS_MAX_DEPTH' },
        32,
        1,
        1000,
      ),
    },
    state: {
      dir: pathKey(
        { doc: 'Directory of the SQLite inbox/decision log.', env: 'INFERGATE_STATE_DIR' },
        defaultStateDir(env),
      ),
      retentionHours: intKey(
        { doc: 'Decided rows older than this are pruned, hours.', env: 'INFERGATE_STATE_RETENTION_HOURS' },
        168,
        1,
        87600,
      ),
      synchronous: enumKey(
        { doc: 'SQLite synchronous mode.', env: 'INFERGATE_STATE_SYNCHRONOUS' },
        'normal',
        ['normal', 'full'],
      ),
    },
    privacy: {
      keepInput: boolKey(
        { doc: 'Keep raw event payloads in the decision log.', env: 'INFERGATE_PRIVACY_KEEP_INPUT' },
        false,
      ),
      deadLetterPayload: boolKey(
        { doc: 'Put raw payloads (base64) into dead letters.', env: 'INFERGATE_PRIVACY_DEAD_LETTER_PAYLOAD' },
        false,
      ),
      allowPublicEndpoints: boolKey(
        {
          doc: 'Accept broker/listen addresses outside loopback, link-local and private ranges.',
          env: 'INFERGATE_PRIVACY_ALLOW_PUBLIC_ENDPOINTS',
        },
        false,
      ),
    },
    log: {
      level: enumKey({ doc: 'Log level.', env: 'INFERGATE_LOG_LEVEL' }, 'info', LOG_LEVELS),
    },
    metrics: {
      enabled: boolKey(
        { doc: 'Serve /metrics, /healthz and /readyz over HTTP.', env: 'INFERGATE_METRICS_ENABLED' },
        true,
      ),
      host: leaf(
        { doc: 'Address the metrics endpoint listens on.', env: 'INFERGATE_METRICS_HOST' },
        '127.0.0.1',
        'infergate-string',
        (v) => patternProblem(v, /^[A-Za-z0-9.:_-]+$/, 'a host name or IP address', 255),
      ),
      port: intKey(
        { doc: 'Port of the metrics endpoint; 0 picks a free one.', env: 'INFERGATE_METRICS_PORT' },
        9464,
        0,
        65535,
      ),
      statusIntervalSec: intKey(
        {
          doc: 'Publish stats on infergate/<id>/stats this often, seconds; 0 = never.',
          env: 'INFERGATE_METRICS_STATUS_INTERVAL_SEC',
        },
        0,
        0,
        86400,
      ),
    },
    sparkplug: sparkplugSchema(),
  };
}

/**
 * Copies the parts of `raw` the schema describes, reporting unknown keys and non-mappings where a section
 * is expected; convict would otherwise keep unknown keys or crash on a scalar in place of a section.
 */
function pickDeclared(
  raw: Record<string, unknown>,
  node: SchemaNode,
  base: string,
  problems: ConfigProblems,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(node);
  for (const [key, value] of Object.entries(raw)) {
    const path = childPath(base, key);
    const child = node[key];
    if (child === undefined || !Object.hasOwn(node, key)) {
      problems.add(path, unknownKeyMessage(key, keys));
    } else if (isLeaf(child)) {
      // convict would descend into a mapping given for a scalar key (and crash two levels down).
      if (isPlainObject(value)) problems.add(path, child.check(value) ?? 'must not be a mapping');
      else out[key] = value;
    } else if (!isPlainObject(value)) {
      problems.add(path, `must be a mapping (keys: ${Object.keys(child).join(', ')})`);
    } else {
      out[key] = pickDeclared(value, child, path, problems);
    }
  }
  return out;
}

/**
 * Merges `raw` (the fixed sections of the file) over the defaults, then the environment over both, and
 * checks every key. Problems go to `problems` (naming the environment variable when the value came from
 * one); the returned values are only meaningful when none were added.
 */
export function loadFixedSections(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblems,
): FixedSections {
  const schema = fixedSchema(env);
  const declared = pickDeclared(raw, schema, '', problems);
  const config = convict<FixedSections>(schema as unknown as convict.Schema<FixedSections>, {
    env,
    args: [],
  });
  config.load(declared);
  const before = problems.count;
  for (const { path, leaf } of schemaLeaves(schema)) {
    const value: unknown = config.get(path as never);
    const fromEnv = env[leaf.env] !== undefined ? ` (from ${leaf.env})` : '';
    if (value === null && leaf.nullable) continue;
    if ((value === null || value === undefined) && leaf.default === null) {
      problems.add(path, `is required${fromEnv}`);
      continue;
    }
    const problem = leaf.check(value);
    if (problem !== null) problems.add(path, `${problem}${fromEnv}`);
  }
  // convict's own validate reports every problem in one joined string; the loop above collects them one
  // by one with the same checks. Run it as well so the two can never drift apart unnoticed.
  if (problems.count === before) config.validate({ allowed: 'strict' });
  return config.getProperties();
}

/** Every environment variable the fixed sections honour, with its key, for docs and tests. */
export function environmentVariables(): { env: string; path: string; doc: string }[] {
  return schemaLeaves(fixedSchema({})).map(({ path, leaf }) => ({ env: leaf.env, path, doc: leaf.doc }));
}
