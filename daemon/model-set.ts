import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipelineModels } from './compile-pipelines.js';
import type { InfergateConfig, ModelConfig } from './config.js';
import type { ModelRunner } from './ports.js';

/**
 * Decides, for a config reload, which loaded models carry over and which must be loaded anew: a model is
 * kept only when its settings are unchanged and its file still has the sha256 it was loaded with (a new
 * file dropped in at the same path is a new model).
 */
export async function planModelSet(
  current: { config: InfergateConfig; models: ReadonlyMap<string, ModelRunner> },
  next: { config: InfergateConfig; candidates: ReadonlyMap<string, ModelRunner> },
): Promise<{ models: Map<string, ModelRunner>; fresh: Map<string, ModelRunner>; retired: ModelRunner[] }> {
  const used = new Set(next.config.pipelines.flatMap(pipelineModels));
  const models = new Map<string, ModelRunner>();
  const fresh = new Map<string, ModelRunner>();
  for (const name of used) {
    const loaded = current.models.get(name);
    const before = current.config.models[name];
    const after = next.config.models[name]!;
    if (
      loaded !== undefined &&
      before !== undefined &&
      sameSettings(before, after) &&
      samePrompts(current.config, next.config, name)
    ) {
      if ((await fileSha256(after.path).catch(() => null)) === loaded.info.sha256) {
        models.set(name, loaded);
        continue;
      }
    }
    const candidate = next.candidates.get(name);
    if (candidate === undefined) throw new Error(`no runner for model ${name}`);
    models.set(name, candidate);
    fresh.set(name, candidate);
  }
  const kept = new Set(models.values());
  const retired = [...current.models.values()].filter((runner) => !kept.has(runner));
  return { models, fresh, retired };
}

function sameSettings(a: ModelConfig, b: ModelConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An LLM runner is loaded for its pipeline's prompt (system prompt cached, labels, budget): part of the model. */
function samePrompts(before: InfergateConfig, after: InfergateConfig, model: string): boolean {
  const prompts = (config: InfergateConfig) =>
    JSON.stringify(
      config.pipelines
        .filter((pipeline) => pipeline.model === model && pipeline.prompt !== null)
        .map((pipeline) => [pipeline.name, pipeline.prompt, pipeline.budgetMs]),
    );
  return prompts(before) === prompts(after);
}

function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Config sections a reload cannot change: they shape connections and state opened at start. */
export const RESTART_ONLY_SECTIONS = [
  'gateway',
  'mqtt',
  'broker',
  'state',
  'privacy',
  'limits',
  'log',
  'metrics',
  'sparkplug',
] as const;

export function restartOnlyChanges(before: InfergateConfig, after: InfergateConfig): string[] {
  return RESTART_ONLY_SECTIONS.filter(
    (section) => JSON.stringify(before[section]) !== JSON.stringify(after[section]),
  );
}
