/**
 * What the status page shows of a model card (`<model>.json` next to the model file, see
 * docs/bring-your-own-model.md#4-model-card): task, variant, quantization and the evaluation metrics of
 * the variant in use. Cards are written by people and tools in more than one shape, so this reads
 * defensively and never throws: a missing or odd card is simply shown as absent.
 */
import { readFile, stat } from 'node:fs/promises';

export interface ModelCardSummary {
  /** The card file that was read. */
  file: string;
  task: string | null;
  variant: string | null;
  /** One line, e.g. `int4 (com.microsoft MatMulNBits, block 16)`. */
  quantization: string | null;
  /** The sha256 the card was written for; the page flags a card that describes another file. */
  sha256: string | null;
  /** The card's headline metric name, when it names one. */
  headline: string | null;
  /** Numeric metrics of the variant in use, in the card's order (at most MAX_METRICS). */
  metrics: { name: string; value: number }[];
  /** Where the metrics come from, e.g. `test split, 12398 rows`. */
  evaluatedOn: string | null;
}

/** Cards are a few KiB; anything far larger is not a card. */
const MAX_CARD_BYTES = 1024 * 1024;
const MAX_METRICS = 8;
/** Numbers in a metrics block that are not quality metrics. */
const NOT_METRICS = new Set(['bytes', 'rows', 'support', 'seed']);

/** The card next to `modelPath` (same base name, `.json`), or null when there is none or it is unusable. */
export async function readModelCardSummary(modelPath: string): Promise<ModelCardSummary | null> {
  const file = `${modelPath.replace(/\.(onnx|gguf)$/i, '')}.json`;
  let card: Record<string, unknown>;
  try {
    if ((await stat(file)).size > MAX_CARD_BYTES) return null;
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!isObject(parsed)) return null;
    card = parsed;
  } catch {
    return null;
  }
  const variant = text(card.variant);
  const metricsBlock = isObject(card.metrics) ? card.metrics : {};
  return {
    file,
    task: text(card.task),
    variant,
    quantization: describeQuantization(card.quantization) ?? variant,
    sha256: text(card.sha256),
    headline: text(metricsBlock.headline),
    metrics: pickMetrics(metricsBlock, variant),
    evaluatedOn: describeEvaluation(metricsBlock),
  };
}

/** A GGUF file name usually says its quantization (`…-Q4_K_M.gguf`); used when there is no card. */
export function quantizationFromFileName(path: string): string | null {
  const match = /[-_.]((?:I?Q\d[A-Z0-9_]*)|BF16|F16|F32)\.gguf$/i.exec(path);
  return match === null ? null : match[1]!.toUpperCase();
}

function describeQuantization(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return null;
  const weights = text(value.weights) ?? text(value.type);
  if (weights === null) return null;
  const details = [
    text(value.operator),
    typeof value.blockSize === 'number' ? `block ${value.blockSize}` : null,
  ]
    .filter((part): part is string => part !== null)
    .join(', ');
  return details === '' ? weights : `${weights} (${details})`;
}

/**
 * Two shapes are common: per variant (`metrics.int4.rocAuc`, the shipped cards) and per metric
 * (`metrics.rocAuc.int4`, or a plain `metrics.rocAuc`). Both give the variant's numbers.
 */
function pickMetrics(block: Record<string, unknown>, variant: string | null): ModelCardSummary['metrics'] {
  const out: ModelCardSummary['metrics'] = [];
  const add = (name: string, value: unknown) => {
    if (
      typeof value === 'number' &&
      Number.isFinite(value) &&
      !NOT_METRICS.has(name) &&
      out.length < MAX_METRICS
    )
      out.push({ name, value });
  };
  const perVariant = variant === null ? undefined : block[variant];
  if (isObject(perVariant)) {
    for (const [name, value] of Object.entries(perVariant)) if (name !== 'headline') add(name, value);
    return out;
  }
  for (const [name, value] of Object.entries(block)) {
    if (isObject(value) && variant !== null) add(name, value[variant]);
    else add(name, value);
  }
  return out;
}

function describeEvaluation(block: Record<string, unknown>): string | null {
  const split = text(block.split);
  const rows = typeof block.rows === 'number' ? `${block.rows} rows` : null;
  const parts = [split === null ? null : `${split} split`, rows].filter((p): p is string => p !== null);
  return parts.length === 0 ? null : parts.join(', ');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
