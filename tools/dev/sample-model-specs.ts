/**
 * What the two shipped sample models take and give, and how they are trained: input features in the order
 * config/default.yaml maps them, with units; the heavy-tailed inputs that go through log1p inside the
 * graph; network size; optimizer settings. `mean`/`std` of a feature are its typical value and spread in
 * the synthetic population (for documentation and plausibility tests); the graph itself normalizes with
 * statistics of the training split, which the model card records.
 */
import type { TrainSpec } from '../train/train-mlp.js';

export interface FeatureSpec {
  /** The event field (dotted path) or, for a one-hot input, `field=value`. */
  name: string;
  unit: string;
  mean: number;
  std: number;
  transform?: 'log1p';
}

export interface SampleModelSpec {
  name: string;
  task: 'binary-classification' | 'multiclass-classification';
  description: string;
  /** Training seed (weights initialization and shuffling). */
  seed: number;
  inputName: string;
  outputName: string;
  features: readonly FeatureSpec[];
  outputWidth: number;
  /** Multi-class output labels, in output order. */
  labels: readonly string[] | null;
  /** Binary: names of class 0 and class 1. */
  classes: readonly [string, string] | null;
  hidden: readonly [number, number];
  /** INT4 block size of the shipped model. */
  blockSize: number;
  training: Omit<TrainSpec, 'sizes' | 'output' | 'seed' | 'monotone' | 'fakeQuantize'> & {
    /** Quantization-aware fine-tuning for the INT4 model: extra epochs and their learning rate. */
    int4FineTuning?: { epochs: number; learningRate: number };
    /** Feature names the score may only rise with, and the monotone units per hidden layer. */
    monotone?: { features: readonly string[]; units: readonly [number, number] };
  };
  /** Suggested pipeline decision rule (config syntax), shipped in the card. */
  decide: Record<string, unknown>;
}

const f = (name: string, unit: string, mean: number, std: number, transform?: 'log1p'): FeatureSpec => ({
  name,
  unit,
  mean,
  std,
  ...(transform === undefined ? {} : { transform }),
});

export const ATM_RISK: SampleModelSpec = {
  name: 'atm-risk',
  task: 'binary-classification',
  description:
    'ATM/card transaction fraud risk in [0, 1], trained on synthetic transactions (tools/dev/atm-transactions.ts). ' +
    'Fraud rows were weighted 16x in training, so the score ranks risk and over-states the probability: ' +
    'P(fraud) = s / (s + 16 (1 - s)). The score never falls as amount, distanceKm or pinTries rise.',
  seed: 0x1a7e_0013,
  inputName: 'features',
  outputName: 'score',
  features: [
    f('amount', 'EUR', 120, 250, 'log1p'),
    f('currency=domestic', 'one-hot', 0.85, 0.36),
    f('currency=foreign_eea', 'one-hot', 0.1, 0.3),
    f('currency=foreign_other', 'one-hot', 0.05, 0.22),
    f('hour', 'hour of day, 0-23 local', 13, 5),
    f('weekday', 'day of week, 0-6, 0 = Monday', 3, 2),
    f('cardPresent', 'boolean 0/1', 0.9, 0.3),
    f('velocity.count10m', "card's earlier transactions in the last 10 min", 0.3, 0.8),
    f('velocity.sum10m', "EUR of the card's earlier transactions in the last 10 min", 40, 150, 'log1p'),
    f('velocity.count24h', "card's earlier transactions in the last 24 h", 2.5, 2.5),
    f('velocity.sum24h', "EUR of the card's earlier transactions in the last 24 h", 250, 500, 'log1p'),
    f('distanceKm', "km from the card's home terminal", 20, 200, 'log1p'),
    f('pinTries', 'PIN attempts for this transaction (0: no PIN)', 1, 0.6),
  ],
  outputWidth: 1,
  labels: null,
  classes: ['legit', 'fraud'],
  hidden: [24, 12],
  blockSize: 16,
  training: {
    epochs: 20,
    batchSize: 64,
    learningRate: 0.003,
    weightDecay: 1e-4,
    positiveWeight: 16,
    monotone: { features: ['amount', 'distanceKm', 'pinTries'], units: [12, 6] },
  },
  decide: {
    threshold: {
      output: 0,
      bands: [
        { min: 0.8, decision: 'reject' },
        { min: 0.4, decision: 'review' },
      ],
      otherwise: 'accept',
    },
  },
};

export const INSPECTION: SampleModelSpec = {
  name: 'inspection',
  task: 'multiclass-classification',
  description:
    'End-of-line part inspection: probabilities of [ok, dimensional, thermal, vibration], trained on ' +
    'synthetic production data with tool wear, sensor drift and noise (tools/dev/inspection-parts.ts). Label ' +
    'smoothing (0.05) keeps the probabilities from saturating, so a confidence floor means something.',
  seed: 0x1a7e_0016,
  inputName: 'features',
  outputName: 'probabilities',
  features: [
    f('dims.lengthMm', 'mm', 120, 0.05),
    f('dims.widthMm', 'mm', 45, 0.04),
    f('dims.heightMm', 'mm', 30, 0.03),
    f('dims.holeDiameterMm', 'mm', 8, 0.01),
    f('dims.flatnessUm', 'um', 12, 4),
    f('thermal.temperatureC', 'degC', 41, 5),
    f('thermal.deltaC', 'degC', 3.2, 1.4),
    f('torque.nm', 'N m', 25, 1.1),
    f('torque.angleDeg', 'deg', 90, 4.7),
    f('vibration.band1', 'mm/s RMS', 1.25, 0.35),
    f('vibration.band2', 'mm/s RMS', 0.92, 0.16),
    f('vibration.band3', 'mm/s RMS', 0.7, 0.07),
    f('vibration.band4', 'mm/s RMS', 0.53, 0.12),
    f('vibration.band5', 'mm/s RMS', 0.37, 0.09),
    f('vibration.band6', 'mm/s RMS', 0.26, 0.035),
    f('cycleTimeS', 's', 12, 0.5),
  ],
  outputWidth: 4,
  labels: ['ok', 'dimensional', 'thermal', 'vibration'],
  classes: null,
  hidden: [32, 16],
  blockSize: 16,
  training: {
    epochs: 30,
    batchSize: 32,
    learningRate: 0.003,
    weightDecay: 1e-4,
    labelSmoothing: 0.05,
    int4FineTuning: { epochs: 8, learningRate: 0.0005 },
  },
  decide: {
    argmax: {
      labels: ['ok', 'dimensional', 'thermal', 'vibration'],
      decisions: { ok: 'accept', dimensional: 'reject', thermal: 'reject', vibration: 'reject' },
      minConfidence: 0.6,
      lowConfidence: 'review',
    },
  },
};

export const SAMPLE_MODEL_SPECS: readonly SampleModelSpec[] = [ATM_RISK, INSPECTION];
