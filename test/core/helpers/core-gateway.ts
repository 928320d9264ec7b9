/**
 * A Gateway built in process for the core tests: the real Intake, Scheduler, Answering and Inbox (SQLite in a
 * temp state dir), with an in-memory transport, a fake model and a manual clock. No broker, no real sleeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configFromObject } from '../../../config/load-config.js';
import type { InfergateConfig } from '../../../daemon/config.js';
import { ErrorCodes, InputError } from '../../../daemon/errors.js';
import { createGateway, type Gateway } from '../../../daemon/gateway.js';
import type { EventFields } from '../../../daemon/ports.js';
import { atmEvent, atmInput, atmPipeline, testConfig } from '../../helpers/gateway-process.js';
import { FakeModel } from './fake-model.js';
import { FakeTransport } from './fake-transport.js';
import { ManualClock } from './manual-clock.js';

/** Values per row of the atm-risk input mapping (`atmInput`): 10 fields, one of them one-hot over 3. */
export const ATM_INPUT_WIDTH = atmInput.fields.length + 2;
export const GATEWAY_ID = 'gw-core';
export const DEAD_LETTER_TOPIC = `infergate/${GATEWAY_ID}/deadletter`;

export interface CoreGateway {
  gateway: Gateway;
  transport: FakeTransport;
  model: FakeModel;
  clock: ManualClock;
  config: InfergateConfig;
}

/** A temp state dir, removed with the test. */
export function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-core-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The atm-risk pipeline of the integration tests (`atm/+/tx` → `atm/{1}/decision`, budget 300 ms). */
export function coreConfig(dir: string, pipeline: Record<string, unknown> = {}): InfergateConfig {
  return configFromObject(
    testConfig({
      url: 'mqtt://127.0.0.1:1883',
      gatewayId: GATEWAY_ID,
      stateDir: dir,
      pipelines: [atmPipeline(pipeline)],
    }),
  );
}

/** Builds and starts a gateway on `config`; stopped with the test unless the test stopped it. */
export async function startCoreGateway(
  t: { teardown(fn: () => void | Promise<void>): void },
  config: InfergateConfig,
  clock = new ManualClock(),
): Promise<CoreGateway> {
  const transport = new FakeTransport();
  const model = new FakeModel({ name: 'atm-risk', inputWidth: ATM_INPUT_WIDTH });
  const gateway = createGateway({
    config,
    logger: pino({ level: 'silent' }),
    transport,
    models: new Map([['atm-risk', model]]),
    decoders: { json: jsonDecoder, sparkplug: noSparkplug },
    clock,
  });
  await gateway.start();
  t.teardown(() => gateway.stop());
  return { gateway, transport, model, clock, config };
}

/** An atm-risk event as its publisher would send it. */
export function atmMessage(id: string, terminal = 't1'): { topic: string; payload: string } {
  return { topic: `atm/${terminal}/tx`, payload: JSON.stringify(atmEvent(id)) };
}

/**
 * Lets the inbox commit what this turn wrote (it commits on setImmediate) and the decisions waiting for that
 * commit go out.
 */
export async function committed(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function jsonDecoder(payload: Buffer): EventFields {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new InputError(ErrorCodes.INPUT_NOT_JSON, 'the payload is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(ErrorCodes.INPUT_NOT_OBJECT, 'the payload is not a JSON object');
  }
  return value as EventFields;
}

/** The core tests run JSON pipelines only; a Sparkplug pipeline here would be a mistake in the test. */
function noSparkplug(): EventFields {
  throw new Error('no Sparkplug pipeline in the core tests');
}
