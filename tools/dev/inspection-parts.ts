/**
 * Synthetic end-of-line part inspection data: 27 measurements per part and a defect class, simulated
 * part by part on four stations so the data has what real lines have: tool wear that walks the dimensions
 * towards their tolerance until the tool is changed, cooling trouble that heats parts for a while, bearings
 * that degrade until maintenance, a daily ambient-temperature cycle, a temperature sensor whose offset
 * drifts until its weekly recalibration, and sensor noise on every reading.
 *
 * The class comes from the part's true (noise-free) values, in this order of precedence:
 *   dimensional  a dimension, flatness, fastening torque or angle outside its tolerance
 *   thermal      part temperature above THERMAL_LIMIT_C
 *   vibration    vibration severity (band energies relative to a healthy spindle) above VIBRATION_LIMIT
 *   ok           otherwise
 * The model only sees the noisy, drifting readings, so parts near a limit are genuinely ambiguous.
 * Rows are in production order; the splits are chronological (train first, then validation, then test).
 */
import { mulberry32, type Random } from '../train/mulberry32.js';
import { bernoulli, clamp, integer, logNormal, normal, pick, roundTo } from './random-variates.js';
import type { Split } from './atm-transactions.js';

export const INSPECTION_LABELS = ['ok', 'dimensional', 'thermal', 'vibration'] as const;
export type InspectionLabel = (typeof INSPECTION_LABELS)[number];

/** Nominal value, process standard deviation and tolerance (half-width) of each dimension. */
export const DIMENSIONS = {
  'dims.lengthMm': { nominal: 120, sd: 0.03, tolerance: 0.12 },
  'dims.widthMm': { nominal: 45, sd: 0.025, tolerance: 0.1 },
  'dims.heightMm': { nominal: 30, sd: 0.02, tolerance: 0.08 },
  'dims.holeDiameterMm': { nominal: 8, sd: 0.006, tolerance: 0.025 },
} as const;
export const FLATNESS_LIMIT_UM = 25;
export const TORQUE_RANGE_NM = [21, 29] as const;
export const ANGLE_RANGE_DEG = [75, 105] as const;
export const THERMAL_LIMIT_C = 56;
export const VIBRATION_LIMIT = 1.8;

/** Healthy-spindle RMS velocity per band, mm/s. */
const BAND_BASE = [1.2, 0.9, 0.7, 0.5, 0.35, 0.25] as const;

/** Column names of the measurements, in file order; the model uses 16 of them (see sample-model-specs.ts). */
export const INSPECTION_MEASUREMENTS = [
  'dims.lengthMm',
  'dims.widthMm',
  'dims.heightMm',
  'dims.holeDiameterMm',
  'dims.flatnessUm',
  'dims.holePositionUm',
  'dims.roughnessUm',
  'thermal.temperatureC',
  'thermal.deltaC',
  'thermal.ambientC',
  'thermal.coolantC',
  'torque.nm',
  'torque.angleDeg',
  'vibration.band1',
  'vibration.band2',
  'vibration.band3',
  'vibration.band4',
  'vibration.band5',
  'vibration.band6',
  'vibration.overallRms',
  'vibration.crestFactor',
  'spindle.speedRpm',
  'spindle.loadPct',
  'power.kw',
  'air.humidityPct',
  'tool.ageParts',
  'cycleTimeS',
] as const;
export type InspectionMeasurement = (typeof INSPECTION_MEASUREMENTS)[number];

export interface InspectionPart {
  id: string;
  ts: string;
  line: string;
  station: string;
  values: Record<InspectionMeasurement, number>;
  label: InspectionLabel;
  split: Split;
}

export interface InspectionDataOptions {
  seed: number;
  parts: number;
  splitShares: readonly [number, number];
}

export const INSPECTION_DATA_DEFAULTS: InspectionDataOptions = {
  seed: 0x5eed_1a5e,
  parts: 24_000,
  splitShares: [0.7, 0.15],
};

const EPOCH_MS = Date.UTC(2026, 2, 2);
/** One inspected part per station every ~5 minutes (sampling inspection), 4 stations. */
const MINUTES_PER_PART = 1.25;

interface Station {
  line: string;
  station: string;
  toolAge: number;
  toolLife: number;
  wearDirection: [number, number];
  overheat: { remaining: number; peak: number; age: number; length: number } | null;
  bearing: { severity: number; rate: number } | null;
  imbalance: number;
  sensorOffset: number;
}

export function generateInspectionParts(
  options: InspectionDataOptions = INSPECTION_DATA_DEFAULTS,
): InspectionPart[] {
  const random = mulberry32(options.seed);
  const stations: Station[] = ['L1/S1', 'L1/S2', 'L2/S1', 'L2/S2'].map((name) => {
    const [line, station] = name.split('/') as [string, string];
    return {
      line,
      station,
      toolAge: integer(random, 0, 1500),
      toolLife: integer(random, 1600, 2600),
      wearDirection: [random() < 0.5 ? -1 : 1, random() < 0.5 ? -1 : 1],
      overheat: null,
      bearing: null,
      imbalance: 0,
      sensorOffset: normal(random, 0, 0.3),
    };
  });
  const parts: InspectionPart[] = [];
  const trainEnd = Math.floor(options.parts * options.splitShares[0]);
  const validationEnd = Math.floor(options.parts * (options.splitShares[0] + options.splitShares[1]));
  let lastWeek = 0;
  for (let index = 0; index < options.parts; index++) {
    const minute = index * MINUTES_PER_PART;
    const week = Math.floor(minute / (7 * 1440));
    if (week !== lastWeek) {
      // Weekly recalibration of the temperature sensors.
      for (const s of stations) s.sensorOffset = normal(random, 0, 0.3);
      lastWeek = week;
    }
    const s = stations[index % stations.length]!;
    evolve(random, s);
    const part = simulatePart(random, s, minute);
    parts.push({
      id: `part-${String(index + 1).padStart(6, '0')}`,
      ts: new Date(EPOCH_MS + Math.floor(minute) * 60_000).toISOString().slice(0, 16),
      line: s.line,
      station: s.station,
      values: part.values,
      label: part.label,
      split: index < trainEnd ? 'train' : index < validationEnd ? 'validation' : 'test',
    });
  }
  return parts;
}

/** One part's worth of change in the station's hidden state. */
function evolve(random: Random, s: Station): void {
  s.toolAge++;
  if (s.toolAge > s.toolLife) {
    s.toolAge = 0;
    s.toolLife = integer(random, 1600, 2600);
    s.wearDirection = [random() < 0.5 ? -1 : 1, random() < 0.5 ? -1 : 1];
  }
  s.sensorOffset += normal(random, 0, 0.02);
  if (s.overheat === null && bernoulli(random, 0.0025)) {
    const length = integer(random, 15, 60);
    s.overheat = { remaining: length, length, age: 0, peak: 6 + random() * 24 };
  } else if (s.overheat !== null && --s.overheat.remaining <= 0) {
    s.overheat = null;
  }
  if (s.overheat !== null) s.overheat.age++;
  if (s.bearing === null && bernoulli(random, 0.0025)) {
    s.bearing = { severity: 1, rate: 0.03 + random() * 0.05 };
  } else if (s.bearing !== null) {
    s.bearing.severity += s.bearing.rate;
    // Maintenance replaces the bearing once the vibration is noticed on the shop floor.
    if (s.bearing.severity > 2.2 + random() * 1.5) s.bearing = null;
  }
  if (s.imbalance === 0 && bernoulli(random, 0.0015)) s.imbalance = 2.1 + random() * 2;
  else if (s.imbalance > 0 && bernoulli(random, 0.03)) s.imbalance = 0;
}

function simulatePart(
  random: Random,
  s: Station,
  minute: number,
): { values: Record<InspectionMeasurement, number>; label: InspectionLabel } {
  const dayPhase = ((minute % 1440) / 1440) * 2 * Math.PI;
  const ambient = 22 + 3.5 * Math.sin(dayPhase - Math.PI / 2) + normal(random, 0, 0.6);
  const humidity = clamp(50 - 1.5 * (ambient - 22) + normal(random, 0, 6), 15, 95);
  const wear = s.toolAge / s.toolLife;

  // True dimensions: process scatter, tool wear drift, and the odd chipped tool.
  const dims = {} as Record<keyof typeof DIMENSIONS, number>;
  (Object.keys(DIMENSIONS) as (keyof typeof DIMENSIONS)[]).forEach((name, i) => {
    const d = DIMENSIONS[name];
    const drift = i < 2 ? s.wearDirection[i]! * wear * wear * 0.4 * d.tolerance : 0;
    dims[name] = d.nominal + drift + normal(random, 0, d.sd);
  });
  if (bernoulli(random, 0.028)) {
    const name = pick(random, Object.keys(DIMENSIONS) as (keyof typeof DIMENSIONS)[]);
    const d = DIMENSIONS[name];
    dims[name] += (random() < 0.5 ? -1 : 1) * d.tolerance * (1.15 + random() * 2);
  }
  let flatness = logNormal(random, 9 + 4 * wear, 0.25);
  if (bernoulli(random, 0.008)) flatness += 16 + random() * 24;

  // Fastening: cross-threaded or under-torqued screws.
  let torque = normal(random, 25, 0.9);
  let angle = normal(random, 90, 4);
  if (bernoulli(random, 0.012)) {
    if (random() < 0.5) torque = 14 + random() * 5.5;
    else angle = 108 + random() * 22;
  }

  // Thermal: cooling trouble ramps the part temperature up and back down over an episode.
  const coolant = ambient + 2 + normal(random, 0, 0.4) + (s.overheat !== null ? s.overheat.peak * 0.4 : 0);
  let heat = 0;
  if (s.overheat !== null) {
    const phase = s.overheat.age / s.overheat.length;
    heat = s.overheat.peak * Math.sin(Math.PI * Math.min(1, phase));
  }
  const cycleTime = clamp(normal(random, 12, 0.5) + (s.overheat !== null ? 0.6 : 0), 9, 16);
  const temperature = 40 + 0.55 * (ambient - 22) + 0.8 * (cycleTime - 12) + heat + normal(random, 0, 1.6);
  const delta = clamp(3 + 0.25 * heat + normal(random, 0, 0.9), 0, 40);

  // Vibration: bearing wear lifts the high bands, imbalance the low ones.
  const bearing = s.bearing?.severity ?? 1;
  const speed = normal(random, 6000, 60);
  const bandFactor = [1 + 0.6 * s.imbalance, 1 + 0.3 * s.imbalance, 1, bearing, bearing, 0.6 + 0.4 * bearing];
  const trueBands = BAND_BASE.map((base, i) => base * bandFactor[i]! * logNormal(random, 1, 0.08));
  const severity = Math.max(
    (trueBands[3]! + trueBands[4]! + trueBands[5]!) / (BAND_BASE[3] + BAND_BASE[4] + BAND_BASE[5]),
    (trueBands[0]! + trueBands[1]!) / (BAND_BASE[0] + BAND_BASE[1]),
  );

  let label: InspectionLabel = 'ok';
  const outOfTolerance = (Object.keys(DIMENSIONS) as (keyof typeof DIMENSIONS)[]).some(
    (name) => Math.abs(dims[name] - DIMENSIONS[name].nominal) > DIMENSIONS[name].tolerance,
  );
  if (
    outOfTolerance ||
    flatness > FLATNESS_LIMIT_UM ||
    torque < TORQUE_RANGE_NM[0] ||
    torque > TORQUE_RANGE_NM[1] ||
    angle < ANGLE_RANGE_DEG[0] ||
    angle > ANGLE_RANGE_DEG[1]
  ) {
    label = 'dimensional';
  } else if (temperature > THERMAL_LIMIT_C) {
    label = 'thermal';
  } else if (severity > VIBRATION_LIMIT) {
    label = 'vibration';
  }

  // Readings: gauge noise, a drifting temperature sensor, noisy accelerometer.
  const bands = trueBands.map((b) => b * logNormal(random, 1, 0.06));
  const overall = Math.sqrt(bands.reduce((sum, b) => sum + b * b, 0));
  const values: Record<InspectionMeasurement, number> = {
    'dims.lengthMm': roundTo(dims['dims.lengthMm'] + normal(random, 0, 0.012), 3),
    'dims.widthMm': roundTo(dims['dims.widthMm'] + normal(random, 0, 0.01), 3),
    'dims.heightMm': roundTo(dims['dims.heightMm'] + normal(random, 0, 0.008), 3),
    'dims.holeDiameterMm': roundTo(dims['dims.holeDiameterMm'] + normal(random, 0, 0.003), 4),
    'dims.flatnessUm': roundTo(Math.max(0, flatness + normal(random, 0, 1.2)), 1),
    'dims.holePositionUm': roundTo(Math.abs(normal(random, 0, 8 + 10 * wear)), 1),
    'dims.roughnessUm': roundTo(logNormal(random, 0.8 + 0.6 * wear, 0.15), 2),
    'thermal.temperatureC': roundTo(temperature + s.sensorOffset + normal(random, 0, 0.4), 1),
    'thermal.deltaC': roundTo(delta + normal(random, 0, 0.2), 1),
    'thermal.ambientC': roundTo(ambient, 1),
    'thermal.coolantC': roundTo(coolant, 1),
    'torque.nm': roundTo(torque + normal(random, 0, 0.15), 2),
    'torque.angleDeg': roundTo(angle + normal(random, 0, 0.8), 1),
    'vibration.band1': roundTo(bands[0]!, 3),
    'vibration.band2': roundTo(bands[1]!, 3),
    'vibration.band3': roundTo(bands[2]!, 3),
    'vibration.band4': roundTo(bands[3]!, 3),
    'vibration.band5': roundTo(bands[4]!, 3),
    'vibration.band6': roundTo(bands[5]!, 3),
    'vibration.overallRms': roundTo(overall, 3),
    'vibration.crestFactor': roundTo(3 + 0.8 * (bearing - 1) + normal(random, 0, 0.3), 2),
    'spindle.speedRpm': Math.round(speed),
    'spindle.loadPct': roundTo(clamp(55 + 25 * wear + normal(random, 0, 4), 0, 100), 1),
    'power.kw': roundTo(4.2 + 1.2 * wear + normal(random, 0, 0.25), 2),
    'air.humidityPct': roundTo(humidity, 1),
    'tool.ageParts': s.toolAge,
    cycleTimeS: roundTo(cycleTime + normal(random, 0, 0.05), 2),
  };
  return { values, label };
}
