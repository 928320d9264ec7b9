/**
 * The common start of a gateway integration test: a private Mosquitto, a temp dir with a `testConfig` in it,
 * the daemon started on that config and ready, a collector and a publisher. Everything is torn down with the
 * test. The test calls `requireMosquitto(t)` first, so a box without Mosquitto skips it visibly.
 */
import type mqtt from 'mqtt';
import { startMosquitto, type MosquittoBroker, type MosquittoOptions } from './mosquitto.js';
import {
  collector,
  publisher,
  startGateway,
  tempDir,
  testConfig,
  writeConfig,
  type Collector,
  type GatewayProcess,
  type SpawnOptions,
  type TestConfigOptions,
} from './gateway-process.js';

/** `testConfig` options; the fixture sets the broker URL and the state dir itself. */
export type FixtureConfig = Omit<TestConfigOptions, 'url' | 'stateDir'>;

export interface GatewayFixtureOptions {
  /** Topic filters the collector subscribes to. */
  collect: string[];
  /** A function is given the temp dir first, for a model file it writes there. */
  config?: FixtureConfig | ((dir: string) => Promise<FixtureConfig>);
  mosquitto?: MosquittoOptions;
  spawn?: SpawnOptions;
}

export interface GatewayFixture {
  broker: MosquittoBroker;
  /** Holds the config file and the gateway's state dir. */
  dir: string;
  /** The config document as written to `configFile`. */
  config: Record<string, unknown>;
  configFile: string;
  gateway: GatewayProcess;
  /** Everything published on the `collect` filters. */
  inbox: Collector;
  /** A plain client for the test's events, on the config's protocol version like the collector. */
  pub: mqtt.MqttClient;
}

export async function startGatewayFixture(
  t: { teardown(fn: () => void | Promise<void>): void },
  options: GatewayFixtureOptions,
): Promise<GatewayFixture> {
  const broker = await startMosquitto(options.mosquitto);
  t.teardown(() => broker.stop());
  const dir = tempDir(t);
  const sections = typeof options.config === 'function' ? await options.config(dir) : options.config;
  const config = testConfig({ ...sections, url: broker.url, stateDir: `${dir}/state` });
  const configFile = writeConfig(dir, config);
  const gateway = await startGateway(t, configFile, {}, options.spawn);
  const protocolVersion = sections?.protocolVersion ?? 5;
  const inbox = await collector(t, broker.url, options.collect, protocolVersion);
  const pub = await publisher(t, broker.url, protocolVersion);
  return { broker, dir, config, configFile, gateway, inbox, pub };
}
