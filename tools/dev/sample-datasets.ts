/**
 * The sample models' data sets as flat records (one CSV row each), with their split and class: the ATM
 * transactions and the inspected parts, generated from fixed seeds. Training and `infergate eval` read
 * features from these records by input name (record-features.ts), so the shipped test-split CSV files
 * evaluate exactly as the models were trained and measured.
 */
import { ATM_DATA_DEFAULTS, generateAtmTransactions, type Split } from './atm-transactions.js';
import type { CsvValue } from '../common/csv.js';
import {
  INSPECTION_DATA_DEFAULTS,
  INSPECTION_LABELS,
  INSPECTION_MEASUREMENTS,
  generateInspectionParts,
} from './inspection-parts.js';
import type { SampleModelSpec } from './sample-model-specs.js';

export interface SampleDataset {
  columns: string[];
  records: Record<string, CsvValue>[];
  splits: Split[];
  /** Class index per record. */
  labels: Uint8Array;
  description: string;
  generator: string;
  seed: number;
}

const ATM_COLUMNS = [
  'id',
  'ts',
  'card',
  'terminal',
  'channel',
  'kind',
  'amount',
  'currency',
  'hour',
  'weekday',
  'cardPresent',
  'velocity.count10m',
  'velocity.sum10m',
  'velocity.count24h',
  'velocity.sum24h',
  'distanceKm',
  'pinTries',
  'label',
];

export function sampleDataset(spec: SampleModelSpec): SampleDataset {
  switch (spec.name) {
    case 'atm-risk':
      return atmDataset();
    case 'inspection':
      return inspectionDataset();
    default:
      throw new RangeError(`no data set defined for sample model ${spec.name}`);
  }
}

function atmDataset(): SampleDataset {
  const rows = generateAtmTransactions();
  return {
    columns: ATM_COLUMNS,
    records: rows.map((r) => ({
      id: r.id,
      ts: r.ts,
      card: r.card,
      terminal: r.terminal,
      channel: r.channel,
      kind: r.kind,
      amount: r.amount,
      currency: r.currency,
      hour: r.hour,
      weekday: r.weekday,
      cardPresent: r.cardPresent,
      'velocity.count10m': r.count10m,
      'velocity.sum10m': r.sum10m,
      'velocity.count24h': r.count24h,
      'velocity.sum24h': r.sum24h,
      distanceKm: r.distanceKm,
      pinTries: r.pinTries,
      label: r.label,
    })),
    splits: rows.map((r) => r.split),
    labels: Uint8Array.from(rows, (r) => r.label),
    description:
      'Synthetic card transactions: 2,600 cards over 28 days, each with a home terminal, spending level, ' +
      'activity rate, channel mix (ATM, card-present purchase, e-commerce) and sometimes a trip; 16% of ' +
      'cards are compromised once (counterfeit cash-out, card-not-present burst, stolen card with PIN ' +
      "guessing, or fraud that mimics the holder). Velocity features count the card's earlier " +
      'transactions. Split by card: 70% train, 15% validation, 15% test.',
    generator: 'tools/dev/atm-transactions.ts',
    seed: ATM_DATA_DEFAULTS.seed,
  };
}

function inspectionDataset(): SampleDataset {
  const parts = generateInspectionParts();
  return {
    columns: ['id', 'ts', 'line', 'station', ...INSPECTION_MEASUREMENTS, 'label'],
    records: parts.map((p) => ({
      id: p.id,
      ts: p.ts,
      line: p.line,
      station: p.station,
      ...p.values,
      label: p.label,
    })),
    splits: parts.map((p) => p.split),
    labels: Uint8Array.from(parts, (p) => INSPECTION_LABELS.indexOf(p.label)),
    description:
      'Synthetic end-of-line inspection of machined parts on four stations: 27 measurements per part ' +
      '(dimensions, temperatures, fastening torque and angle, six vibration bands, spindle and ambient ' +
      'readings) with tool wear, cooling and bearing episodes, a daily ambient cycle, a drifting ' +
      'temperature sensor and gauge noise; the class follows from the true values and tolerances. ' +
      'Chronological split: first 70% train, next 15% validation, last 15% test.',
    generator: 'tools/dev/inspection-parts.ts',
    seed: INSPECTION_DATA_DEFAULTS.seed,
  };
}
