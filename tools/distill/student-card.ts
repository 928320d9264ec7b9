/**
 * The student's model card (`<model>.json` next to it, see tools/common/model-card.ts): what the gateway
 * reads (`labels`, `inputs`) plus where the student came from: the teacher (name, sha256), the events, the
 * held-out agreement with the teacher and the measured latency.
 */
import type { DecisionRules } from '../../daemon/config.js';
import type { CardInput } from '../common/model-card.js';

export interface DistillationReport {
  pipeline: string;
  teacher: { name: string; kind: 'onnx' | 'llm'; sha256: string; msPerEvent: number };
  events: {
    source: string;
    read: number;
    unfitForMapping: number;
    skippedByTeacher: number;
    train: number;
    validation: number;
    holdout: number;
  };
  agreement: {
    /** Share of held-out events where the student's decision equals the teacher's. */
    fp32: number;
    quantized: number;
    validation: number;
    /** teacher decision → student decision → count, held-out events, quantized student. */
    confusion: Record<string, Record<string, number>>;
  };
  latency: { batch: number; p50Ms: number; p99Ms: number; meanPerEventMs: number };
}

export interface StudentCard {
  name: string;
  task: 'binary-classification' | 'multiclass-classification';
  description: string;
  variant: 'int4' | 'int8';
  file: string;
  bytes: number;
  sha256: string;
  input: { name: string; type: 'float32'; shape: [string, number] };
  inputs: CardInput[];
  output: { name: string; type: 'float32'; shape: [string, number] };
  labels?: string[];
  decide: Record<string, unknown>;
  quantization: Record<string, unknown>;
  training: Record<string, unknown>;
  distillation: DistillationReport;
  generatedBy: string;
  seed: number;
}

/** The pipeline's rules in config-file form, for the card's suggested `decide`. */
export function decideConfig(rules: DecisionRules): Record<string, unknown> {
  if (rules.kind === 'threshold') {
    const { output, bands, otherwise } = rules;
    return { threshold: { output, bands, otherwise } };
  }
  const { labels, decisions, minConfidence, lowConfidence } = rules;
  return { argmax: { ...(labels === null ? {} : { labels }), decisions, minConfidence, lowConfidence } };
}
