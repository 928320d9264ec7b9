import { createPipelineDecoders } from '../adapters/decoders/index.js';
import {
  configureImageDecoding,
  imageDecoders,
  loadImageDecoding,
} from '../adapters/decoders/image/index.js';
import { createEmbeddedBroker, createMqttTransport, type EmbeddedBroker } from '../adapters/mqtt/index.js';
import { createSparkplug } from '../adapters/sparkplug/index.js';
import type { InfergateConfig } from '../daemon/config.js';
import { ErrorCodes, isInfergateError, type ErrorCode } from '../daemon/errors.js';
import { createGateway, type Gateway } from '../daemon/gateway.js';
import type { GatewayMetrics, Logger, MqttTransport } from '../daemon/ports.js';
import { modelFactory, type ModelFactory } from './create-models.js';
import { createOperations } from './operations.js';
import { reloadOnSighup } from './reload-on-sighup.js';

/** EX_CONFIG: restarting will not help until someone fixes the config or the files it names. */
export const EXIT_CONFIG = 78;
/** A clean stop must finish within this bound (systemd's TimeoutStopSec is larger), ms. */
const STOP_TIMEOUT_MS = 5000;

const CONFIG_LEVEL_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.CONFIG_READ,
  ErrorCodes.MODEL_NOT_FOUND,
  ErrorCodes.MODEL_SHA256_MISMATCH,
  ErrorCodes.MODEL_SHAPE,
]);

interface Parts {
  broker: EmbeddedBroker | undefined;
  gateway: Gateway;
  transport: MqttTransport;
}

/**
 * The one place that knows the concrete adapters: builds them from the config, starts them in dependency
 * order (embedded broker → gateway: state, models, MQTT) and stops them in reverse on SIGTERM/SIGINT.
 * Resolves with the process exit code.
 */
export async function runGateway(config: InfergateConfig, logger: Logger): Promise<number> {
  // systemd notifications, /metrics + /healthz + /readyz, stats messages. A SIGHUP reload calls
  // ops.reloading() when it begins and ops.ready() once the reloaded gateway serves again.
  const ops = createOperations(config, logger, process.env);
  const createModels = modelFactory(logger);
  let parts: Parts;
  try {
    parts = await buildGateway(config, logger, ops.metrics, createModels);
  } catch (error) {
    logger.fatal({ err: error }, 'invalid configuration');
    return exitCodeFor(error);
  }
  const { broker, gateway, transport } = parts;
  ops.attach({ gateway, transport });
  const stopReloads = reloadOnSighup({ config, logger, gateway, createModels, notify: ops });

  let stopRequested: ((signal: string) => void) | undefined;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: NodeJS.Signals) => stopRequested?.(signal);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  let stopping = false;
  void stopSignal.then(() => (stopping = true));
  try {
    await ops.start();
    await broker?.start();
    await Promise.race([gateway.start(), stopSignal.then(() => undefined)]);
    if (!stopping) ops.ready();
  } catch (error) {
    logger.fatal({ err: error }, 'gateway failed to start');
    ops.failed(error);
    await Promise.allSettled([gateway.stop()]);
    await broker?.stop();
    await ops.stop();
    return exitCodeFor(error);
  }

  const signal = await stopSignal;
  stopReloads();
  logger.info({ signal }, 'stopping');
  ops.stopping(signal);
  const forced = setTimeout(() => {
    logger.error({ timeoutMs: STOP_TIMEOUT_MS }, 'stop took too long; exiting anyway');
    process.exit(1);
  }, STOP_TIMEOUT_MS);
  forced.unref();
  try {
    await gateway.stop();
    await broker?.stop();
  } catch (error) {
    logger.error({ err: error }, 'error while stopping');
    return 1;
  } finally {
    clearTimeout(forced);
    await ops.stop();
  }
  logger.info('stopped');
  return 0;
}

/** Factories validate and do no I/O, so a bad config slice fails here, before anything starts. */
async function buildGateway(
  config: InfergateConfig,
  logger: Logger,
  metrics: GatewayMetrics,
  createModels: ModelFactory,
): Promise<Parts> {
  const broker = config.broker.embedded.enabled
    ? createEmbeddedBroker({ logger, config: config.broker.embedded })
    : undefined;
  const models = await createModels(config);
  const mqttTransport = createMqttTransport({
    logger,
    config: config.mqtt,
    statusTopic: `infergate/${config.gateway.id}/status`,
  });
  // The Sparkplug host layer passes every other topic through untouched, so it is always in place: a
  // reload may add a Sparkplug pipeline.
  const sparkplug = createSparkplug({
    config: config.sparkplug,
    mqtt: config.mqtt,
    limits: config.limits,
    transport: mqttTransport,
    logger,
  });
  const transport = sparkplug.transport;
  // sharp is mapped only when an image pipeline needs it (a reload that adds one loads it then).
  if (config.pipelines.some((p) => p.decoder === 'image')) await loadImageDecoding();
  else configureImageDecoding();
  const gateway = createGateway({
    config,
    logger,
    transport,
    models,
    decoders: {
      ...createPipelineDecoders(config.limits),
      sparkplug: sparkplug.decoder,
      image: imageDecoders(config.limits),
    },
    metrics,
  });
  return { broker, gateway, transport };
}

function exitCodeFor(error: unknown): number {
  if (!isInfergateError(error)) return 1;
  if (CONFIG_LEVEL_CODES.has(error.code)) return EXIT_CONFIG;
  // A refused login, protocol version or unreadable TLS file on the first connect: retrying cannot fix it.
  if (error.code === ErrorCodes.MQTT_CONNECT && !error.retryable) return EXIT_CONFIG;
  return 1;
}
