/**
 * A core gateway (see core-gateway.ts) whose atm-risk pipeline has a second model, `candidate`, as its
 * shadow or canary: two fake models, a manual clock, and metrics that record the rollout calls.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pino from 'pino';
import { configFromObject } from '../../../config/load-config.js';
import type { InfergateConfig } from '../../../daemon/config.js';
import { createGateway } from '../../../daemon/gateway.js';
import { noopMetrics, type GatewayMetrics, type ShadowResult } from '../../../daemon/ports.js';
import { INBOX_FILE } from '../../../daemon/state/schema.js';
import { readShadowComparisons, type ShadowComparison } from '../../../daemon/state/shadow-log.js';
import { atmPipeline, sampleModel, testConfig } from '../../helpers/gateway-process.js';
import { ATM_INPUT_WIDTH, atmMessage, committed, GATEWAY_ID } from './core-gateway.js';
import { FakeModel } from './fake-model.js';
import { FakeTransport } from './fake-transport.js';
import { ManualClock } from './manual-clock.js';

export const LIVE_SHA = 'a'.repeat(64);
export const CANDIDATE_SHA = 'c'.repeat(64);

export interface RolloutMetrics extends GatewayMetrics {
  shadowRuns: { pipeline: string; result: ShadowResult; latencyMs: number | null }[];
  rollbacks: { pipeline: string; reason: string }[];
  refusals: { model: string; code: string }[];
}

export function rolloutMetrics(): RolloutMetrics {
  const shadowRuns: RolloutMetrics['shadowRuns'] = [];
  const rollbacks: RolloutMetrics['rollbacks'] = [];
  const refusals: RolloutMetrics['refusals'] = [];
  return {
    ...noopMetrics,
    shadowRuns,
    rollbacks,
    refusals,
    modelRefused: (model, code) => refusals.push({ model, code }),
    shadowRun: (pipeline, result, latencyMs) => shadowRuns.push({ pipeline, result, latencyMs }),
    canaryRollback: (pipeline, reason) => rollbacks.push({ pipeline, reason }),
  };
}

/** The atm-risk pipeline with `pipeline` overrides, and a second onnx model entry named `candidate`. */
export function rolloutConfig(dir: string, pipeline: Record<string, unknown>): InfergateConfig {
  return configFromObject(
    testConfig({
      url: 'mqtt://127.0.0.1:1883',
      gatewayId: GATEWAY_ID,
      stateDir: dir,
      models: {
        'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk') },
        candidate: { runtime: 'onnx', path: sampleModel('atm-risk.int8') },
      },
      pipelines: [atmPipeline(pipeline)],
    }),
  );
}

export async function startRolloutGateway(
  t: { teardown(fn: () => void | Promise<void>): void },
  config: InfergateConfig,
  options: { liveConcurrency?: number } = {},
) {
  const clock = new ManualClock();
  const transport = new FakeTransport();
  const live = new FakeModel({ name: 'atm-risk', inputWidth: ATM_INPUT_WIDTH, sha256: LIVE_SHA });
  const candidate = new FakeModel({ name: 'candidate', inputWidth: ATM_INPUT_WIDTH, sha256: CANDIDATE_SHA });
  if (options.liveConcurrency !== undefined) {
    Object.defineProperty(live, 'concurrency', { value: options.liveConcurrency });
  }
  const metrics = rolloutMetrics();
  const gateway = createGateway({
    config,
    logger: pino({ level: 'silent' }),
    transport,
    models: new Map([
      ['atm-risk', live],
      ['candidate', candidate],
    ]),
    decoders: {
      json: (payload) => JSON.parse(payload.toString('utf8')) as Record<string, unknown>,
      sparkplug: () => ({}),
    },
    clock,
    metrics,
  });
  await gateway.start();
  t.teardown(() => gateway.stop());
  return { gateway, transport, live, candidate, clock, metrics, config };
}

/** Fresh runners for a reload: the live model as it was, and a candidate of `inputWidth` values. */
export function reloadModels(inputWidth = ATM_INPUT_WIDTH) {
  const live = new FakeModel({ name: 'atm-risk', inputWidth: ATM_INPUT_WIDTH, sha256: LIVE_SHA });
  const candidate = new FakeModel({ name: 'candidate', inputWidth, sha256: CANDIDATE_SHA });
  return {
    live,
    candidate,
    models: new Map([
      ['atm-risk', live],
      ['candidate', candidate],
    ]),
  };
}

/** Delivers an atm-risk event and lets its insert commit. */
export async function deliver(transport: FakeTransport, id: string, terminal = 't1'): Promise<void> {
  await transport.deliver(atmMessage(id, terminal));
  await committed();
}

/** The shadow decisions on record, each with its live decision (a read-only look at the state file). */
export function shadowRows(config: InfergateConfig): ShadowComparison[] {
  const db = new Database(join(config.state.dir, INBOX_FILE), { readonly: true });
  try {
    return [...readShadowComparisons(db, 'atm-risk', 0)];
  } finally {
    db.close();
  }
}
