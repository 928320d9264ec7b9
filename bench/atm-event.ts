/**
 * The ATM transaction events the benchmark sends, and the 13-value feature row the atm-risk model takes.
 * The feature order must stay the one of the atm-risk pipeline in config/default.yaml: the orchestrator
 * checks ATM_INPUT_FIELDS against that file before it starts, so the bare loop and the gateway feed the
 * model the same row.
 */

export const CURRENCIES = ['domestic', 'foreign_eea', 'foreign_other'] as const;
export type Currency = (typeof CURRENCIES)[number];

export interface AtmEvent {
  id: string;
  /** Epoch milliseconds at generation; the latency measurement does not use it. */
  ts: number;
  terminal: string;
  amount: number;
  currency: Currency;
  hour: number;
  weekday: number;
  cardPresent: boolean;
  velocity: { count10m: number; sum10m: number; count24h: number; sum24h: number };
  distanceKm: number;
  pinTries: number;
}

/** The pipeline's input fields, in model order, as `path` or `path:oneHot(values)`. */
export const ATM_INPUT_FIELDS: readonly string[] = [
  'amount',
  `currency:oneHot(${CURRENCIES.join(',')})`,
  'hour',
  'weekday',
  'cardPresent',
  'velocity.count10m',
  'velocity.sum10m',
  'velocity.count24h',
  'velocity.sum24h',
  'distanceKm',
  'pinTries',
];

export const ATM_FEATURE_COUNT = 13;

/** The row the gateway's input mapping builds for the same event (booleans as 0/1, pinTries default 0). */
export function atmFeatures(
  e: AtmEvent,
  out: Float32Array = new Float32Array(ATM_FEATURE_COUNT),
): Float32Array {
  out[0] = e.amount;
  out[1] = e.currency === 'domestic' ? 1 : 0;
  out[2] = e.currency === 'foreign_eea' ? 1 : 0;
  out[3] = e.currency === 'foreign_other' ? 1 : 0;
  out[4] = e.hour;
  out[5] = e.weekday;
  out[6] = e.cardPresent ? 1 : 0;
  out[7] = e.velocity.count10m;
  out[8] = e.velocity.sum10m;
  out[9] = e.velocity.count24h;
  out[10] = e.velocity.sum24h;
  out[11] = e.distanceKm;
  out[12] = e.pinTries ?? 0;
  return out;
}

/** mulberry32: small, fast and good enough to make every run send the same event stream for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Mostly ordinary withdrawals, with a few percent of suspicious ones (abroad, far from home, several
 * withdrawals in minutes, repeated PIN attempts) so the model's score, and so the decision, varies.
 * Units and ranges follow tools/dev/sample-model-specs.ts (EUR, hour 0-23, weekday 0-6 with 0 = Monday).
 */
export function makeAtmEventGenerator(seed: number, terminals = 200): (id: string) => AtmEvent {
  const rand = seededRandom(seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  return (id: string): AtmEvent => {
    const suspicious = rand() < 0.04;
    const withdrawal = (median: number, sigma: number): number =>
      Math.min(2000, Math.max(10, Math.round((median * Math.exp(sigma * normal(rand))) / 10) * 10));
    const amount = suspicious ? withdrawal(400, 0.6) : withdrawal(80, 0.8);
    const r = rand();
    const currency: Currency = suspicious
      ? r < 0.5
        ? 'foreign_other'
        : r < 0.8
          ? 'foreign_eea'
          : 'domestic'
      : r < 0.88
        ? 'domestic'
        : r < 0.97
          ? 'foreign_eea'
          : 'foreign_other';
    const hour = suspicious ? pick(24) : ((Math.floor(14 + 4 * normal(rand)) % 24) + 24) % 24;
    const count10m = suspicious ? 1 + pick(5) : rand() < 0.85 ? 0 : 1 + pick(2);
    let sum10m = 0;
    for (let i = 0; i < count10m; i++) sum10m += withdrawal(suspicious ? 300 : 60, 0.7);
    const count24h = count10m + (suspicious ? pick(8) : pick(3));
    let sum24h = sum10m;
    for (let i = count10m; i < count24h; i++) sum24h += withdrawal(60, 0.8);
    const distanceKm =
      currency === 'domestic'
        ? round2(Math.min(800, 3 * Math.exp(1.2 * normal(rand))))
        : round2(150 + rand() * (currency === 'foreign_eea' ? 1500 : 9000));
    // PIN attempts for this transaction, as the sample model reads them: 1 for nearly everyone.
    const pinRoll = rand();
    const pinTries = suspicious ? 1 + pick(3) : pinRoll < 0.92 ? 1 : pinRoll < 0.99 ? 2 : 3;
    return {
      id,
      ts: Date.now(),
      terminal: `T${String(1 + pick(terminals)).padStart(4, '0')}`,
      amount,
      currency,
      hour,
      weekday: pick(7),
      cardPresent: suspicious ? rand() < 0.6 : rand() < 0.97,
      velocity: { count10m, sum10m, count24h, sum24h },
      distanceKm,
      pinTries,
    };
  };
}

/** The atm-risk pipeline's `decide` section of config/default.yaml, which the bare loop applies itself. */
export const ATM_DECIDE = {
  threshold: {
    output: 0,
    bands: [
      { min: 0.8, decision: 'reject' },
      { min: 0.4, decision: 'review' },
    ],
    otherwise: 'accept',
  },
} as const;

export function atmDecision(score: number): string {
  for (const band of ATM_DECIDE.threshold.bands) if (score >= band.min) return band.decision;
  return ATM_DECIDE.threshold.otherwise;
}
