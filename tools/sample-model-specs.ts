/**
 * What the two shipped sample models take and give: input features in the order config/default.yaml maps
 * them, with units and the per-feature mean/std baked into each graph as its normalization. The numbers
 * are plausible values for the domain (amounts in EUR, machined-part dimensions in mm), not statistics of
 * real data: the models are untrained demos until real training lands.
 */

export interface FeatureSpec {
  /** The event field (dotted path) or, for a one-hot input, `field=value`. */
  name: string;
  unit: string;
  mean: number;
  std: number;
}

export interface SampleModelSpec {
  name: string;
  task: string;
  description: string;
  seed: number;
  inputName: string;
  outputName: string;
  features: readonly FeatureSpec[];
  outputWidth: number;
  labels: readonly string[] | null;
  hidden: readonly [number, number];
  blockSize: number;
}

const f = (name: string, unit: string, mean: number, std: number): FeatureSpec => ({ name, unit, mean, std });

export const ATM_RISK: SampleModelSpec = {
  name: 'atm-risk',
  task: 'risk-score',
  description:
    'ATM/card transaction risk score in [0, 1] (higher is riskier). Untrained demo model: structured random ' +
    'weights chosen so the score rises with amount, distance from home and PIN tries; not for real decisions.',
  seed: 0x1a7e_0013,
  inputName: 'features',
  outputName: 'score',
  features: [
    f('amount', 'EUR', 120, 250),
    f('currency=domestic', 'one-hot', 0.85, 0.36),
    f('currency=foreign_eea', 'one-hot', 0.1, 0.3),
    f('currency=foreign_other', 'one-hot', 0.05, 0.22),
    f('hour', 'hour of day, 0-23 local', 13, 5),
    f('weekday', 'day of week, 0-6, 0 = Monday', 3, 2),
    f('cardPresent', 'boolean 0/1', 0.9, 0.3),
    f('velocity.count10m', 'transactions in the last 10 min', 0.3, 0.8),
    f('velocity.sum10m', 'EUR in the last 10 min', 40, 150),
    f('velocity.count24h', 'transactions in the last 24 h', 2.5, 2.5),
    f('velocity.sum24h', 'EUR in the last 24 h', 250, 500),
    f('distanceKm', 'km from the card holder home area', 20, 200),
    f('pinTries', 'PIN attempts for this transaction', 1, 0.6),
  ],
  outputWidth: 1,
  labels: null,
  hidden: [32, 16],
  blockSize: 16,
};

export const INSPECTION: SampleModelSpec = {
  name: 'inspection',
  task: 'classification',
  description:
    'End-of-line part inspection: softmax over [ok, dimensional, thermal, vibration]. Untrained demo model: ' +
    'structured random weights so a nominal part scores ok and a measurement beyond ~2 sigma of nominal moves ' +
    'the probability to its defect class; not for real decisions.',
  seed: 0x1a7e_0016,
  inputName: 'features',
  outputName: 'probabilities',
  features: [
    f('dims.lengthMm', 'mm', 120, 0.05),
    f('dims.widthMm', 'mm', 45, 0.04),
    f('dims.heightMm', 'mm', 30, 0.03),
    f('dims.holeDiameterMm', 'mm', 8, 0.01),
    f('dims.flatnessUm', 'um', 12, 4),
    f('thermal.temperatureC', 'degC', 45, 5),
    f('thermal.deltaC', 'degC', 3, 1.5),
    f('torque.nm', 'N m', 25, 1.2),
    f('torque.angleDeg', 'deg', 90, 6),
    f('vibration.band1', 'mm/s RMS', 1.2, 0.3),
    f('vibration.band2', 'mm/s RMS', 0.9, 0.25),
    f('vibration.band3', 'mm/s RMS', 0.7, 0.2),
    f('vibration.band4', 'mm/s RMS', 0.5, 0.15),
    f('vibration.band5', 'mm/s RMS', 0.35, 0.1),
    f('vibration.band6', 'mm/s RMS', 0.25, 0.08),
    f('cycleTimeS', 's', 12, 0.8),
  ],
  outputWidth: 4,
  labels: ['ok', 'dimensional', 'thermal', 'vibration'],
  hidden: [32, 16],
  blockSize: 16,
};

export const SAMPLE_MODEL_SPECS: readonly SampleModelSpec[] = [ATM_RISK, INSPECTION];
