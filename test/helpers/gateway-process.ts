import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(packageRoot, 'dist', 'bin', 'infergate.js');
export const sampleModel = (name: string) => join(packageRoot, 'models', `${name}.onnx`);

export const atmInput = {
  fields: [
    'amount',
    { path: 'currency', oneHot: ['domestic', 'foreign_eea', 'foreign_other'] },
    'hour',
    'weekday',
    { path: 'cardPresent', type: 'boolean' },
    'velocity.count10m',
    'velocity.sum10m',
    'velocity.count24h',
    'velocity.sum24h',
    'distanceKm',
    { path: 'pinTries', default: 0 },
  ],
};

export const atmDecide = {
  threshold: {
    output: 0,
    bands: [
      { min: 0.8, decision: 'reject' },
      { min: 0.4, decision: 'review' },
    ],
    otherwise: 'accept',
  },
};

export function atmEvent(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    amount: 120.5,
    currency: 'domestic',
    hour: 14,
    weekday: 2,
    cardPresent: true,
    velocity: { count10m: 1, sum10m: 120.5, count24h: 3, sum24h: 300 },
    distanceKm: 2.1,
    pinTries: 1,
    ...overrides,
  };
}

/** The atm-risk pipeline entry of `testConfig`: `atm/+/tx` → `atm/{1}/decision`, replies on `reply/#`. */
export function atmPipeline(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'atm-risk',
    subscribe: 'atm/+/tx',
    publish: 'atm/{1}/decision',
    responseTopics: ['reply/#'],
    model: 'atm-risk',
    budgetMs: 300,
    fallback: 'review',
    input: atmInput,
    decide: atmDecide,
    ...overrides,
  };
}

export interface TestConfigOptions {
  url: string;
  protocolVersion?: 4 | 5;
  gatewayId?: string;
  stateDir: string;
  embedded?: { port: number } | null;
  models?: Record<string, unknown>;
  pipelines?: Record<string, unknown>[];
  extra?: Record<string, unknown>;
}

/** A config with one atm-risk pipeline on `atm/+/tx`, replies allowed on `reply/#`. */
export function testConfig(options: TestConfigOptions): Record<string, unknown> {
  const gatewayId = options.gatewayId ?? 'gw-test';
  return {
    gateway: { id: gatewayId },
    mqtt: {
      url: options.url,
      protocolVersion: options.protocolVersion ?? 5,
      clientId: `infergate-${gatewayId}`,
      keepaliveSec: 5,
      reconnect: { minMs: 100, maxMs: 1000 },
    },
    broker: {
      embedded:
        options.embedded == null
          ? { enabled: false }
          : { enabled: true, host: '127.0.0.1', port: options.embedded.port },
    },
    state: { dir: options.stateDir },
    log: { level: 'debug' },
    // Tests run gateways side by side: each metrics endpoint takes a free port.
    metrics: { port: 0 },
    models: options.models ?? { 'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk'), threads: 1 } },
    pipelines: options.pipelines ?? [atmPipeline()],
    ...options.extra,
  };
}

export interface GatewayProcess {
  child: ChildProcess;
  /** Every pino line the gateway printed so far, parsed. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** Waits for a log line matching `predicate`. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'infergate-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeConfig(dir: string, config: Record<string, unknown>, name = 'config.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface SpawnOptions {
  /** Runs the daemon's argv through a launcher (`unshare -n`, …): returns the command to spawn. */
  wrap?: (argv: string[]) => string[];
  /** Descriptors of this process passed on as fd 3, 4, … (socket activation). */
  extraFds?: number[];
  /** How long `startGateway` waits for `gateway ready`, ms (a slow model's warm-up takes longer). */
  readyTimeoutMs?: number;
}

/** Spawns `infergate run -c FILE` as a real process (kill -9 and exit codes need one). */
export function spawnGateway(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  options: SpawnOptions = {},
): GatewayProcess {
  const argv = [process.execPath, cliPath, 'run', '-c', configFile];
  const [command, ...args] = options.wrap?.(argv) ?? argv;
  const child = spawn(command!, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.extraFds ?? [])],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
    for (const wake of waiters) wake();
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.on('exit', (code, signal) => {
      if (stderr.length > 0) logs.push({ stderr });
      for (const wake of waiters) wake();
      resolveExit({ code, signal });
    });
  });
  return {
    child,
    logs,
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForLog(predicate, timeoutMs = 15000) {
      return new Promise((resolveLog, reject) => {
        const check = () => {
          const found = logs.find(predicate);
          if (found !== undefined) {
            cleanup();
            resolveLog(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(
              new Error(
                `gateway exited before the expected log line; logs: ${JSON.stringify(logs).slice(-3000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for a log line; logs: ${JSON.stringify(logs).slice(-3000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Spawns the gateway and waits until it logs `gateway ready`. Killed (SIGKILL) at teardown if still running. */
export async function startGateway(
  t: { teardown(fn: () => void | Promise<void>): void },
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  options: SpawnOptions = {},
): Promise<GatewayProcess> {
  const gateway = spawnGateway(configFile, env, options);
  t.teardown(async () => {
    gateway.kill('SIGKILL');
    await gateway.exited;
  });
  await gateway.waitForLog((line) => line.msg === 'gateway ready', options.readyTimeoutMs ?? 20000);
  return gateway;
}

export interface Reply {
  topic: string;
  body: Record<string, unknown>;
  correlation: string | undefined;
  at: number;
}

/**
 * Per event id, the distinct decisions its replies carried (decision, source, reason, score): one entry per
 * id when repeats only republished the stored decision.
 */
export function decisionsById(replies: readonly Reply[]): Map<string, Set<string>> {
  const byId = new Map<string, Set<string>>();
  for (const reply of replies) {
    const id = reply.body.id as string;
    const decisions = byId.get(id) ?? new Set<string>();
    decisions.add(
      JSON.stringify([reply.body.decision, reply.body.source, reply.body.reason, reply.body.score]),
    );
    byId.set(id, decisions);
  }
  return byId;
}

/** A message as JSON; one that is not (the status topic's `online`) as `{ raw: text }`. */
export function messageBody(payload: Buffer): Record<string, unknown> {
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { raw: text };
  }
}

export interface Collector {
  client: mqtt.MqttClient;
  /** Everything received so far, in arrival order. */
  replies: Reply[];
  /** Resolves with `replies` once there are `n` of them, or after `timeoutMs` with fewer. */
  waitFor(n: number, timeoutMs?: number): Promise<Reply[]>;
}

/** A plain MQTT.js client collecting everything on `filters`. */
export async function collector(
  t: { teardown(fn: () => void | Promise<void>): void },
  url: string,
  filters: string[],
  protocolVersion: 4 | 5 = 5,
): Promise<Collector> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion,
    clientId: `collector-${process.pid}-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 200,
  });
  t.teardown(() => client.endAsync(true));
  const replies: Reply[] = [];
  client.on('message', (topic, payload, packet) => {
    const body = messageBody(payload);
    const correlation = packet.properties?.correlationData?.toString('utf8');
    replies.push({ topic, body, correlation, at: performance.now() });
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    client,
    replies,
    async waitFor(n, timeoutMs = 10000) {
      const until = performance.now() + timeoutMs;
      while (replies.length < n && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      return replies;
    },
  };
}

export async function publisher(
  t: { teardown(fn: () => void | Promise<void>): void },
  url: string,
  protocolVersion: 4 | 5 = 5,
): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion,
    clientId: `publisher-${process.pid}-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 200,
  });
  t.teardown(() => client.endAsync(true));
  return client;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
