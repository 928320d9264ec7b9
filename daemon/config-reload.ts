import type { InfergateConfig } from './config.js';
import { compilePipelines, pipelineModels, type Decoders } from './compile-pipelines.js';
import type { Intake } from './intake.js';
import { loadModels } from './load-models.js';
import { planModelSet, restartOnlyChanges } from './model-set.js';
import type { GatewayMetrics, Logger, ModelRunner, MqttTransport } from './ports.js';
import { ErrorCodes, isInfergateError } from './errors.js';
import { addLanes, type Scheduler } from './scheduler.js';
import type { Shadow } from './shadow.js';
import { waitFor } from './wait-for.js';

/** A retired model is released after its last event, or after this long at most, ms. */
const RETIRE_TIMEOUT_MS = 60_000;

export interface ConfigReloadDeps {
  /** The config the gateway started with: sections only a restart can change are compared to it. */
  startConfig: InfergateConfig;
  /** The models loaded at start, by name. */
  models: ReadonlyMap<string, ModelRunner>;
  decoders: Decoders;
  transport: MqttTransport;
  scheduler: Scheduler;
  shadow: Shadow;
  intake: Intake;
  logger: Logger;
  metrics: GatewayMetrics;
}

/**
 * Switches the gateway to a new config's pipelines and models without dropping or double-answering an
 * event. New or changed models are loaded and warmed before anything switches; then new events go to the
 * new pipelines while events already admitted finish on the old ones, whose models are released once idle.
 */
export class ConfigReload {
  private readonly deps: ConfigReloadDeps;
  /** The models in use, by name; replaced as a whole by a reload. */
  private inUse: ReadonlyMap<string, ModelRunner>;
  /** The config pipelines and models currently run from (the start config until a reload). */
  private active: InfergateConfig;
  private reloading = false;

  constructor(deps: ConfigReloadDeps) {
    this.deps = deps;
    this.inUse = deps.models;
    this.active = deps.startConfig;
  }

  /** The models in use now. */
  get models(): ReadonlyMap<string, ModelRunner> {
    return this.inUse;
  }

  /**
   * Applies `config` with `candidates` (a fresh runner per model name, used for the models that change).
   * On any failure nothing switches and the error is thrown. Returns the sections only a restart can change.
   */
  async reload(
    config: InfergateConfig,
    candidates: ReadonlyMap<string, ModelRunner>,
  ): Promise<{ restartNeeded: string[] }> {
    if (this.reloading) throw new Error('a reload is already in progress');
    this.reloading = true;
    const { logger, metrics, scheduler, intake } = this.deps;
    let fresh = new Map<string, ModelRunner>();
    try {
      const plan = await planModelSet({ config: this.active, models: this.inUse }, { config, candidates });
      fresh = plan.fresh;
      const loading = fresh;
      await loadModels(
        fresh,
        config.pipelines.filter((p) => pipelineModels(p).some((name) => loading.has(name))),
        logger,
        metrics,
        (model, error) => this.refused(model, error),
      );
      // A model that loads but does not fit its pipeline (input width, outputs, labels) is refused too.
      const pipelines = compilePipelines(config, plan.models, this.deps.decoders, (model, error) => {
        if (isInfergateError(error) && error.code === ErrorCodes.MODEL_SHAPE) this.refused(model, error);
      });
      for (const pipeline of pipelines) {
        const before = intake.pipelines.find((p) => p.config.name === pipeline.config.name);
        if (pipeline.canary !== null && before?.canary != null) pipeline.canary.adopt(before.canary);
      }
      addLanes(scheduler, pipelines, config);
      // The switch: one assignment each, between two events.
      intake.pipelines = pipelines;
      this.inUse = plan.models;
      const previous = this.active;
      this.active = config;
      for (const runner of plan.retired) void this.retire(runner);
      await this.deps.transport.setSubscriptions([...new Set(config.pipelines.map((p) => p.subscribe))]);
      const restartNeeded = restartOnlyChanges(this.deps.startConfig, config);
      logger.info(
        {
          pipelines: pipelines.map((p) => p.config.name),
          modelsLoaded: [...fresh.keys()],
          modelsRetired: plan.retired.length,
          changedPipelines: changedPipelines(previous, config),
        },
        'config reloaded',
      );
      return { restartNeeded };
    } catch (error) {
      await Promise.allSettled([...fresh.values()].map((runner) => runner.dispose()));
      throw error;
    } finally {
      this.reloading = false;
    }
  }

  /** A new model is refused: said with its reason (the reload fails, the running model keeps serving). */
  private refused(model: string, error: unknown): void {
    const code = isInfergateError(error) ? error.code : ErrorCodes.MODEL_LOAD;
    this.deps.metrics.modelRefused(model, code);
    this.deps.logger.error(
      { model, code, err: error },
      'new model refused; the running model keeps serving its pipelines',
    );
  }

  /** Releases a model no pipeline uses any more, once the events already given to it are answered. */
  private async retire(runner: ModelRunner): Promise<void> {
    const { scheduler, shadow } = this.deps;
    await waitFor(() => scheduler.idle(runner) && shadow.idle(runner), RETIRE_TIMEOUT_MS);
    scheduler.removeModel(runner);
    await runner.dispose();
  }
}

function changedPipelines(before: InfergateConfig, after: InfergateConfig): string[] {
  const old = new Map(before.pipelines.map((p) => [p.name, JSON.stringify(p)]));
  return after.pipelines.filter((p) => old.get(p.name) !== JSON.stringify(p)).map((p) => p.name);
}
