/**
 * The "wide" event shape: an end-of-line part inspection record of about 1 KB carrying 32 numeric readings
 * in nested groups, the size and shape of a typical sensor or quality record. The model row is the 32
 * readings in WIDE_FIELDS order; the bench writes the same list into the gateway's pipeline config, the
 * Node-RED function and the bare loop, so all three build the same row.
 */
import { ATM_DECIDE, atmDecision, seededRandom } from './atm-event.js';

/** The readings per group, in row order: 8 + 5 + 3 + 8 + 3 + 2 + 2 + 1 = 32. */
export const WIDE_GROUPS = {
  dims: [
    'lengthMm',
    'widthMm',
    'heightMm',
    'holeDiameterMm',
    'flatnessUm',
    'holePositionUm',
    'roughnessUm',
    'wallThicknessMm',
  ],
  thermal: ['partC', 'deltaC', 'ambientC', 'coolantC', 'spindleC'],
  torque: ['nm', 'angleDeg', 'peakNm'],
  vibration: ['band1', 'band2', 'band3', 'band4', 'band5', 'band6', 'overallRms', 'crestFactor'],
  spindle: ['speedRpm', 'loadPct', 'currentA'],
  power: ['kw', 'powerFactor'],
  env: ['humidityPct', 'pressureHpa'],
  process: ['cycleTimeS'],
} as const;

type Groups = typeof WIDE_GROUPS;
export type WideGroup = keyof Groups;

/** The model input fields as dotted paths, in row order (the gateway pipeline's `input.fields`). */
export const WIDE_FIELDS: readonly string[] = Object.entries(WIDE_GROUPS).flatMap(([group, names]) =>
  names.map((name) => `${group}.${name}`),
);

export const WIDE_FEATURE_COUNT = 32;

export type WideEvent = {
  id: string;
  ts: number;
  line: string;
  station: string;
  partId: string;
  recipe: string;
  program: string;
  batch: string;
  tool: string;
  operator: string;
  shift: string;
  firmware: string;
  measuredAt: string;
} & { [G in WideGroup]: Record<Groups[G][number], number> };

const GROUP_ENTRIES = Object.entries(WIDE_GROUPS) as [WideGroup, readonly string[]][];

/** The row the gateway's input mapping builds for the same event: every reading as is. */
export function wideFeatures(
  e: WideEvent,
  out: Float32Array = new Float32Array(WIDE_FEATURE_COUNT),
): Float32Array {
  let i = 0;
  for (const [group, names] of GROUP_ENTRIES) {
    const values = e[group] as Record<string, number>;
    for (const name of names) out[i++] = values[name];
  }
  return out;
}

/** Nominal value and process spread of each reading, in row order; a defect pushes some of them out. */
const NOMINAL: readonly [number, number][] = [
  [120, 0.03], [45, 0.025], [30, 0.02], [8, 0.006], [12, 4], [18, 6], [0.8, 0.15], [3.2, 0.04],
  [38, 3], [6, 2], [22, 2], [19, 1], [41, 3],
  [25, 1], [90, 5], [27, 1.2],
  [1.2, 0.15], [0.9, 0.12], [0.7, 0.1], [0.5, 0.07], [0.35, 0.05], [0.25, 0.04], [1.9, 0.2], [3.1, 0.3],
  [12000, 150], [55, 6], [14, 1.5],
  [7.5, 0.6], [0.86, 0.02],
  [45, 8], [1013, 6],
  [42, 1.5],
]; // prettier-ignore

/** Readings a defect moves, by kind: dimensional, thermal, vibration (row indices into WIDE_FIELDS). */
const DEFECTS: readonly (readonly [number, number][])[] = [
  [
    [0, 6],
    [4, 5],
    [5, 4],
  ],
  [
    [8, 6],
    [9, 5],
    [12, 4],
  ],
  [
    [16, 5],
    [17, 5],
    [22, 6],
    [23, 4],
  ],
];

function normal(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Three decimals: what a PLC or a measuring station typically reports, and what makes the event ~1 KB. */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export interface WideRecord {
  event: WideEvent;
  /** True when the part was generated with a defect (the training label of the wide model). */
  defective: boolean;
}

/**
 * Mostly good parts, with a few percent of defective ones (a dimension, the temperature or the vibration
 * far outside its spread) so the model's score, and so the decision, varies. `sources` stations.
 */
export function makeWideRecordGenerator(seed: number, sources = 200): (id: string) => WideRecord {
  const rand = seededRandom(seed);
  const readings = new Float64Array(WIDE_FEATURE_COUNT);
  return (id: string): WideRecord => {
    const defective = rand() < 0.04;
    for (let i = 0; i < WIDE_FEATURE_COUNT; i++) {
      const [mean, sd] = NOMINAL[i];
      readings[i] = mean + sd * normal(rand);
    }
    if (defective) {
      for (const [index, sigmas] of DEFECTS[Math.floor(rand() * DEFECTS.length)]) {
        const [, sd] = NOMINAL[index];
        readings[index] += sd * sigmas * (0.6 + 0.8 * rand());
      }
    }
    const station = 1 + Math.floor(rand() * sources);
    const now = Date.now();
    const event = {
      id,
      ts: now,
      line: `L${1 + (station % 4)}`,
      station: `S${String(station).padStart(4, '0')}`,
      partId: `P-${String(Math.floor(rand() * 1e9)).padStart(9, '0')}`,
      recipe: 'housing-a7',
      program: 'OP20/housing-a7/rev3',
      batch: `B2026-${String(1 + Math.floor(rand() * 9999)).padStart(4, '0')}`,
      tool: `T-${String(1 + Math.floor(rand() * 999)).padStart(4, '0')}`,
      operator: `op-${String(1 + Math.floor(rand() * 40)).padStart(3, '0')}`,
      shift: 'ABC'[Math.floor(rand() * 3)],
      firmware: 'station-fw 4.2.17',
      measuredAt: new Date(now).toISOString(),
    } as Record<string, unknown>;
    let i = 0;
    for (const [group, names] of GROUP_ENTRIES) {
      const values: Record<string, number> = {};
      for (const name of names) values[name] = round3(readings[i++]);
      event[group] = values;
    }
    return { event: event as WideEvent, defective };
  };
}

export function makeWideEventGenerator(seed: number, sources = 200): (id: string) => WideEvent {
  const next = makeWideRecordGenerator(seed, sources);
  return (id) => next(id).event;
}

/**
 * The wide pipeline's `decide` section, which the bare loop and the Node-RED flow apply themselves: the same
 * risk bands as the atm-risk pipeline, so both event shapes split into the three decisions alike.
 */
export const WIDE_DECIDE = ATM_DECIDE;
export const wideDecision = atmDecision;
