/**
 * The operations side of a running gateway, wired from the config: systemd notifications (READY,
 * WATCHDOG, RELOADING, STOPPING, STATUS), the Prometheus registry and the status page's model the core
 * reports into, the local /metrics, /healthz, /readyz and /status endpoint, and the optional stats messages. run-gateway.ts drives it
 * through the gateway's lifecycle.
 */
import { readFileSync } from 'node:fs';
import {
  createMetricsRegistry,
  createMetricsServer,
  createStatsPublisher,
  createStatusModel,
  createSystemdNotifier,
  systemdListenFd,
  type MetricsRegistry,
  type MetricsServer,
  type StatsPublisher,
  type StatusModel,
  type SystemdNotifier,
} from '../adapters/ops/index.js';
import type { InfergateConfig } from '../daemon/config.js';
import { isInfergateError } from '../daemon/errors.js';
import type { Gateway } from '../daemon/gateway.js';
import type { GatewayMetrics, Logger, MqttTransport } from '../daemon/ports.js';

export interface Operations {
  /** The registry the core reports into: pass it to createGateway. */
  readonly metrics: GatewayMetrics;
  /** Points the readiness, status and snapshot readers at the running parts. Call once, before start. */
  attach(parts: { gateway: Gateway; transport: MqttTransport }): void;
  /** Before anything else starts, so /healthz answers and systemd hears from us while models load. */
  start(): Promise<void>;
  /** gateway.start() resolved: broker connected, every model loaded and warmed. Sends READY=1. */
  ready(): void;
  /** A reload (SIGHUP) begins: RELOADING=1. Call `ready()` when the reloaded gateway serves again. */
  reloading(): void;
  /** A stop begins: STOPPING=1 (before the drain, so systemd knows the wait is deliberate). */
  stopping(signal: string): void;
  /** Start failed: the reason goes to `systemctl status`. */
  failed(error: unknown): void;
  /** Stops the endpoint, the timers and the notifier. Idempotent. */
  stop(): Promise<void>;
}

type Phase = 'starting' | 'serving' | 'reloading' | 'stopping';

/** STATUS= is refreshed this often while serving, ms. */
const STATUS_REFRESH_MS = 30_000;

export function createOperations(
  config: InfergateConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Operations {
  const state: { gateway: Gateway | undefined; transport: MqttTransport | undefined } = {
    gateway: undefined,
    transport: undefined,
  };
  const version = packageVersion();
  const registry = createMetricsRegistry({
    pipelines: config.pipelines.map((p) => p.name),
    models: [...new Set(config.pipelines.map((p) => p.model))],
    version,
    sources: {
      queues: () => state.gateway?.queues ?? new Map(),
      mqttConnected: () => state.transport?.state === 'connected',
      mqttIntakeHolds: () => state.transport?.intakeHolds ?? 0,
      ready: () => state.gateway?.ready ?? false,
    },
  });
  const status = createStatusModel({
    config,
    version,
    totals: () => registry.snapshot(),
    gateway: () => state.gateway?.status,
    transportState: () => state.transport?.state,
  });
  const notifier = createSystemdNotifier({ logger, env });
  return new GatewayOperations(config, logger, env, { registry, status }, notifier, state);
}

/** The registry and the status model both hear of every decision and dead letter. */
function reportingTo(registry: MetricsRegistry, status: StatusModel): GatewayMetrics {
  return {
    eventReceived: (pipeline) => registry.eventReceived(pipeline),
    eventDecided: (pipeline, source, reason, latencyMs) => {
      registry.eventDecided(pipeline, source, reason, latencyMs);
      status.eventDecided(pipeline, source, reason, latencyMs);
    },
    stageLatency: (pipeline, stage, ms) => registry.stageLatency(pipeline, stage, ms),
    deadLetter: (code, topic) => {
      registry.deadLetter(code, topic);
      status.deadLetter(code, topic);
    },
    redelivery: (pipeline) => registry.redelivery(pipeline),
    lateModelResult: (model) => registry.lateModelResult(model),
    modelLoaded: (model, loadMs) => registry.modelLoaded(model, loadMs),
    walRestart: (heldMs, restarted) => registry.walRestart(heldMs, restarted),
    shadowRun: (...args) => registry.shadowRun(...args),
    canaryRollback: (...args) => registry.canaryRollback(...args),
    modelRefused: (...args) => registry.modelRefused(...args),
  };
}

class GatewayOperations implements Operations {
  private readonly config: InfergateConfig;
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly registry: MetricsRegistry;
  private readonly status: StatusModel;
  private readonly reporting: GatewayMetrics;
  private readonly notifier: SystemdNotifier;
  private readonly parts: { gateway: Gateway | undefined; transport: MqttTransport | undefined };
  private server: MetricsServer | undefined;
  private stats: StatsPublisher | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private phase: Phase;
  private connects: number;
  private stopped: Promise<void> | undefined;

  constructor(
    config: InfergateConfig,
    logger: Logger,
    env: NodeJS.ProcessEnv,
    reporters: { registry: MetricsRegistry; status: StatusModel },
    notifier: SystemdNotifier,
    parts: { gateway: Gateway | undefined; transport: MqttTransport | undefined },
  ) {
    this.config = config;
    this.log = logger;
    this.env = env;
    this.registry = reporters.registry;
    this.status = reporters.status;
    this.reporting = reportingTo(reporters.registry, reporters.status);
    this.notifier = notifier;
    this.parts = parts;
    this.server = undefined;
    this.stats = undefined;
    this.statusTimer = undefined;
    this.phase = 'starting';
    this.connects = 0;
    this.stopped = undefined;
  }

  get metrics(): GatewayMetrics {
    return this.reporting;
  }

  attach(parts: { gateway: Gateway; transport: MqttTransport }): void {
    this.parts.gateway = parts.gateway;
    this.parts.transport = parts.transport;
    parts.transport.on('connect', ({ sessionPresent }) => {
      this.status.brokerConnected(sessionPresent);
      this.connects += 1;
      if (this.connects > 1) this.registry.mqttReconnected();
      if (this.phase === 'serving') this.notifier.status(this.statusLine());
    });
    parts.transport.on('disconnect', ({ reason }) => {
      this.status.brokerDisconnected(reason);
      if (this.phase === 'serving') this.notifier.status(`broker disconnected (${reason}); reconnecting`);
    });
    this.stats = createStatsPublisher({
      logger: this.log,
      transport: parts.transport,
      snapshot: () => this.registry.snapshot(),
      gatewayId: this.config.gateway.id,
      intervalSec: this.config.metrics.statusIntervalSec,
    });
  }

  async start(): Promise<void> {
    await this.notifier.start();
    this.notifier.status('starting: loading models, connecting to the broker');
    this.registry.start();
    if (!this.config.metrics.enabled) return;
    await this.status.start();
    const server = createMetricsServer({
      logger: this.log,
      config: this.config.metrics,
      exposition: this.registry,
      status: this.status,
      readiness: () => this.readiness(),
      listenFd: systemdListenFd(this.env, 'metrics'),
    });
    try {
      await server.start();
      this.server = server;
    } catch (error) {
      // Decisions matter more than their metrics: the gateway runs on without the endpoint.
      this.log.error(
        {
          err: error,
          code: isInfergateError(error) ? error.code : undefined,
          hint: 'set metrics.port to a free port, or metrics.enabled: false (with PrivateNetwork=yes, enable the metrics socket unit)',
        },
        'metrics endpoint unavailable; the gateway runs without /metrics, /healthz and /readyz',
      );
    }
  }

  ready(): void {
    // A reload that was under way when the stop began must not announce READY after STOPPING.
    if (this.phase === 'stopping') return;
    this.phase = 'serving';
    this.notifier.ready(this.statusLine());
    this.stats?.start();
    // Only systemd reads the status line: without it the timer would wake an idle gateway for nothing.
    if (this.statusTimer === undefined && this.notifier.enabled) {
      this.statusTimer = setInterval(() => {
        if (this.phase === 'serving') this.notifier.status(this.statusLine());
      }, STATUS_REFRESH_MS).unref();
    }
  }

  reloading(): void {
    if (this.phase === 'stopping') return;
    this.phase = 'reloading';
    this.notifier.reloading('reloading the configuration');
  }

  stopping(signal: string): void {
    this.phase = 'stopping';
    this.stats?.stop();
    this.notifier.stopping(`stopping on ${signal}: draining in-flight events`);
  }

  failed(error: unknown): void {
    const code = isInfergateError(error) ? error.code : 'internal error';
    this.notifier.status(`failed to start: ${code}`);
  }

  stop(): Promise<void> {
    this.stopped ??= this.close();
    return this.stopped;
  }

  private async close(): Promise<void> {
    this.phase = 'stopping';
    this.stats?.stop();
    if (this.statusTimer !== undefined) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    await this.server?.stop();
    this.registry.stop();
    this.notifier.stop();
  }

  /** Null when ready; otherwise why not, for /readyz. */
  private readiness(): string | null {
    const { gateway, transport } = this.parts;
    if (this.phase === 'stopping') return 'stopping';
    // During a reload the gateway keeps serving on the previous pipelines: readiness follows the gateway.
    if (this.phase === 'starting' || gateway === undefined)
      return 'starting (models loading, broker connecting)';
    if (gateway.ready) return null;
    return `broker ${transport?.state ?? 'not connected'}`;
  }

  private statusLine(): string {
    const gateway = this.parts.gateway;
    const decided = Object.values(gateway?.counters.decided ?? {}).reduce((sum, n) => sum + n, 0);
    const broker = this.parts.transport?.state === 'connected' ? 'broker connected' : 'broker disconnected';
    const pipelines = this.config.pipelines.length;
    return `serving ${pipelines} pipeline${pipelines === 1 ? '' : 's'}; ${broker}; ${decided} decided`;
  }
}

/** The version in infergate's package.json (two levels above dist/bin), for infergate_build_info. */
function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
