/**
 * Weights for the two untrained sample models. Plain random weights give a demo that makes no sense (the
 * ATM score falling as the amount grows), so each network gets a few hand-set "signal" units and small
 * seeded random weights everywhere else:
 *
 * - atm-risk: amount, distanceKm and pinTries feed only four first-layer risk units, with non-negative
 *   weights; those feed two second-layer risk units, which feed the output, all with non-negative weights.
 *   Every path from these three inputs is monotone, so the score can only rise with them, also after INT4
 *   quantization (zero stays zero, signs are kept).
 * - inspection: first-layer units fire when a measurement is beyond ~2 sigma of nominal (one unit per
 *   direction where both directions are defects), summed per defect class in the second layer; a constant
 *   "healthy" unit gives the ok class its prior.
 *
 * Only integer PRNG output, + and * are used, so the same seed gives the same floats on every platform.
 */
import type { DenseLayer } from './mlp-model.js';
import { mulberry32, uniform, type Random } from './mulberry32.js';
import type { SampleModelSpec } from './sample-model-specs.js';

class Dense {
  readonly weights: Float64Array;
  readonly bias: Float64Array;

  constructor(
    readonly inputs: number,
    readonly outputs: number,
  ) {
    this.weights = new Float64Array(inputs * outputs);
    this.bias = new Float64Array(outputs);
  }

  set(input: number, output: number, value: number): void {
    this.weights[input * this.outputs + output] = value;
  }

  /** Fills the given block with uniform random weights scaled to the fan-in. */
  randomize(random: Random, inputs: readonly number[], outputs: readonly number[], gain: number): void {
    const limit = gain * Math.sqrt(3 / this.inputs);
    for (const o of outputs) for (const i of inputs) this.set(i, o, uniform(random, limit));
  }

  layer(activation: DenseLayer['activation']): DenseLayer {
    return { inputs: this.inputs, outputs: this.outputs, weights: this.weights, bias: this.bias, activation };
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

export function sampleModelLayers(spec: SampleModelSpec): DenseLayer[] {
  const random = mulberry32(spec.seed);
  switch (spec.name) {
    case 'atm-risk':
      return atmRiskLayers(spec, random);
    case 'inspection':
      return inspectionLayers(spec, random);
    default:
      throw new RangeError(`no weights defined for sample model ${spec.name}`);
  }
}

function atmRiskLayers(spec: SampleModelSpec, random: Random): DenseLayer[] {
  const index = (name: string): number => spec.features.findIndex((feature) => feature.name === name);
  const [amount, foreignOther, cardPresent] = [
    index('amount'),
    index('currency=foreign_other'),
    index('cardPresent'),
  ];
  const [count10m, sum10m, distance, pinTries] = [
    index('velocity.count10m'),
    index('velocity.sum10m'),
    index('distanceKm'),
    index('pinTries'),
  ];
  const monotone = [amount, distance, pinTries];
  const others = range(0, spec.features.length).filter((i) => !monotone.includes(i));
  const [h1, h2] = spec.hidden;
  const riskUnits1 = [0, 1, 2, 3];
  const riskUnits2 = [0, 1];

  const l1 = new Dense(spec.features.length, h1);
  l1.randomize(random, others, range(0, h1), 1);
  for (const unit of riskUnits1) for (const i of others) l1.set(i, unit, uniform(random, 0.05));
  const risk1: Record<number, number>[] = [
    { [amount]: 0.55, [sum10m]: 0.2, [distance]: 0.15, [pinTries]: 0.1 },
    { [distance]: 0.6, [foreignOther]: 0.35, [cardPresent]: -0.3, [amount]: 0.15 },
    { [pinTries]: 0.7, [count10m]: 0.3, [amount]: 0.1 },
    { [amount]: 0.3, [distance]: 0.3, [pinTries]: 0.3 },
  ];
  risk1.forEach((weights, unit) => {
    for (const [input, value] of Object.entries(weights)) l1.set(Number(input), unit, value);
  });
  l1.bias.set([0.1, 0, -0.1, 0.2]);

  const l2 = new Dense(h1, h2);
  const plain1 = range(riskUnits1.length, h1);
  l2.randomize(random, plain1, range(riskUnits2.length, h2), 1);
  for (const unit of riskUnits2) {
    for (const i of plain1) l2.set(i, unit, uniform(random, 0.04));
    for (const i of riskUnits1) l2.set(i, unit, 0.5);
  }

  const l3 = new Dense(h2, 1);
  l3.randomize(random, range(riskUnits2.length, h2), [0], 0.3);
  for (const i of riskUnits2) l3.set(i, 0, 0.45);
  // Puts a typical domestic card-present transaction near a 5% score.
  l3.bias[0] = -3;

  return [l1.layer('relu'), l2.layer('relu'), l3.layer('sigmoid')];
}

function inspectionLayers(spec: SampleModelSpec, random: Random): DenseLayer[] {
  const index = (name: string): number => spec.features.findIndex((feature) => feature.name === name);
  const twoSided = [
    'dims.lengthMm',
    'dims.widthMm',
    'dims.heightMm',
    'dims.holeDiameterMm',
    'torque.nm',
    'torque.angleDeg',
  ];
  const classes: { features: string[]; sides: number[] }[] = [
    { features: twoSided, sides: [1, -1] },
    { features: ['dims.flatnessUm'], sides: [1] },
    { features: ['thermal.temperatureC', 'thermal.deltaC'], sides: [1] },
    { features: spec.features.filter((x) => x.name.startsWith('vibration.')).map((x) => x.name), sides: [1] },
  ];
  // class 0 and 1 above are both "dimensional" (output 1); thermal is 2, vibration is 3.
  const outputClass = [1, 1, 2, 3];
  const [h1, h2] = spec.hidden;
  const l1 = new Dense(spec.features.length, h1);
  const l2 = new Dense(h1, h2);
  const l3 = new Dense(h2, spec.outputWidth);
  const defectUnit2 = (cls: number): number => cls - 1;
  const healthyUnit2 = 3;

  let unit = 0;
  classes.forEach((group, g) => {
    for (const name of group.features) {
      for (const side of group.sides) {
        l1.set(index(name), unit, side);
        l1.bias[unit] = -2;
        l2.set(unit, defectUnit2(outputClass[g]!), 1);
        unit++;
      }
    }
  });
  const plain1 = range(unit, h1);
  l1.randomize(random, range(0, spec.features.length), plain1, 0.5);
  l2.randomize(random, plain1, range(healthyUnit2 + 1, h2), 1);
  for (const u of range(0, healthyUnit2)) for (const i of plain1) l2.set(i, u, uniform(random, 0.03));
  l2.bias[healthyUnit2] = 1;

  l3.randomize(random, range(healthyUnit2 + 1, h2), range(0, spec.outputWidth), 0.2);
  l3.set(healthyUnit2, 0, 3);
  for (const cls of [1, 2, 3]) {
    l3.set(defectUnit2(cls), cls, 2.5);
    l3.set(defectUnit2(cls), 0, -2);
  }
  return [l1.layer('relu'), l2.layer('relu'), l3.layer('softmax')];
}
