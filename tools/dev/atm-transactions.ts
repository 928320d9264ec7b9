/**
 * Synthetic ATM / card transactions with a fraud label, simulated card by card so the velocity features
 * are what a bank would compute: each card's earlier transactions (legitimate and fraudulent alike) in the
 * 10 minutes and 24 hours before this one. The generative rules are documented in docs/sample-models.md;
 * the numbers here are that document's numbers.
 *
 * Legitimate use: each card has a home terminal in a home city, a spending level, an activity rate and a
 * channel mix (ATM cash, card-present purchase, card-not-present e-commerce); some card holders travel
 * (another city, the EEA, or further), make PIN mistakes or big purchases, which is what makes fraud hard.
 * Fraud: a share of cards is compromised once, at a random moment, in one of four scenarios (counterfeit
 * cash-out at distant ATMs, card-not-present burst, stolen card with PIN guessing near home, and "mimic"
 * fraud that copies the holder's own habits and cannot be told apart from the features).
 *
 * Splits are by card (a card's transactions are all in one split), so no card is seen in training and test.
 */
import { mulberry32, type Random } from '../train/mulberry32.js';
import {
  bernoulli,
  clamp,
  integer,
  logNormal,
  normal,
  pick,
  poisson,
  roundTo,
  weightedIndex,
  weightedPick,
} from './random-variates.js';

export type Currency = 'domestic' | 'foreign_eea' | 'foreign_other';
export type Channel = 'atm' | 'pos' | 'ecom';
export type AtmKind = 'legit' | 'skim_cashout' | 'cnp_burst' | 'stolen_card' | 'mimic';
export type Split = 'train' | 'validation' | 'test';

export interface AtmTransaction {
  id: string;
  /** Local time, minute resolution, ISO 8601 without zone. */
  ts: string;
  card: string;
  terminal: string;
  channel: Channel;
  amount: number;
  currency: Currency;
  hour: number;
  weekday: number;
  cardPresent: 0 | 1;
  count10m: number;
  sum10m: number;
  count24h: number;
  sum24h: number;
  distanceKm: number;
  pinTries: number;
  /** 1 = fraud. */
  label: 0 | 1;
  kind: AtmKind;
  split: Split;
}

export interface AtmDataOptions {
  seed: number;
  cards: number;
  days: number;
  /** Share of cards compromised once during the period. */
  compromiseRate: number;
  /** Train / validation shares of the cards; the rest is test. */
  splitShares: readonly [number, number];
}

export const ATM_DATA_DEFAULTS: AtmDataOptions = {
  seed: 0x5eed_a7a1,
  cards: 2600,
  days: 28,
  compromiseRate: 0.16,
  splitShares: [0.7, 0.15],
};

/** 2026-03-02 is a Monday: weekday 0. */
const EPOCH_MS = Date.UTC(2026, 2, 2);
const MINUTES_PER_DAY = 1440;

interface Site {
  id: string;
  x: number;
  y: number;
  region: Currency;
}

interface World {
  cities: { x: number; y: number; weight: number; terminals: Site[] }[];
  eea: Site[][];
  other: Site[][];
  acquirers: Record<Currency, Site[]>;
}

interface Card {
  id: string;
  home: Site;
  city: number;
  spend: number;
  rate: number;
  channels: [number, number, number];
  hourShift: number;
  trip: { start: number; end: number; sites: Site[] } | null;
  split: Split;
}

interface Draft {
  minute: number;
  site: Site;
  channel: Channel;
  amount: number;
  pinTries: number;
  kind: AtmKind;
}

export function generateAtmTransactions(options: AtmDataOptions = ATM_DATA_DEFAULTS): AtmTransaction[] {
  const random = mulberry32(options.seed);
  const world = buildWorld(random);
  const rows: AtmTransaction[] = [];
  for (let c = 0; c < options.cards; c++) {
    const card = makeCard(random, world, c, options);
    const drafts = legitDrafts(random, world, card, options.days);
    if (bernoulli(random, options.compromiseRate)) addFraud(random, world, card, drafts, options.days);
    drafts.sort((a, b) => a.minute - b.minute);
    rows.push(...withVelocity(card, drafts));
  }
  rows.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.card < b.card ? -1 : a.card > b.card ? 1 : 0));
  rows.forEach((row, i) => (row.id = `tx-${String(i + 1).padStart(6, '0')}`));
  return rows;
}

function buildWorld(random: Random): World {
  let next = 0;
  const site = (x: number, y: number, region: Currency): Site => ({
    id: `T${String(++next).padStart(4, '0')}`,
    x,
    y,
    region,
  });
  const cities = Array.from({ length: 14 }, (_, i) => {
    const x = random() * 900;
    const y = random() * 900;
    const weight = i === 0 ? 6 : logNormal(random, 1, 0.7);
    const radius = 4 + weight * 2;
    const terminals = Array.from({ length: integer(random, 12, 40) }, () =>
      site(x + normal(random, 0, radius), y + normal(random, 0, radius), 'domestic'),
    );
    return { x, y, weight, terminals };
  });
  const abroad = (region: Currency, min: number, max: number, count: number): Site[][] =>
    Array.from({ length: count }, () => {
      const angle = random() * 2 * Math.PI;
      const distance = min + random() * (max - min);
      const x = 450 + Math.cos(angle) * distance;
      const y = 450 + Math.sin(angle) * distance;
      return Array.from({ length: integer(random, 4, 10) }, () =>
        site(x + normal(random, 0, 6), y + normal(random, 0, 6), region),
      );
    });
  const eea = abroad('foreign_eea', 450, 2400, 9);
  const other = abroad('foreign_other', 3000, 11000, 7);
  const capital = cities[0]!;
  const acquirers: Record<Currency, Site[]> = {
    domestic: [site(capital.x + 3, capital.y - 2, 'domestic'), site(cities[1]!.x, cities[1]!.y, 'domestic')],
    foreign_eea: eea.map((sites) => sites[0]!),
    foreign_other: other.map((sites) => sites[0]!),
  };
  return { cities, eea, other, acquirers };
}

function makeCard(random: Random, world: World, index: number, options: AtmDataOptions): Card {
  const city = weightedIndex(
    random,
    world.cities.map((c) => c.weight),
  );
  const home = pick(random, world.cities[city]!.terminals);
  const atm = 0.15 + random() * 0.35;
  const ecom = random() * 0.3;
  let trip: Card['trip'] = null;
  if (bernoulli(random, 0.1)) {
    const start = random() * (options.days - 2) * MINUTES_PER_DAY;
    const length = integer(random, 2, 9) * MINUTES_PER_DAY;
    const where = weightedPick(random, [
      ['domestic', 0.45],
      ['foreign_eea', 0.4],
      ['foreign_other', 0.15],
    ] as const);
    const sites =
      where === 'domestic'
        ? pick(
            random,
            world.cities.filter((_, i) => i !== city),
          ).terminals
        : pick(random, where === 'foreign_eea' ? world.eea : world.other);
    trip = { start, end: start + length, sites };
  }
  const u = random();
  const split: Split =
    u < options.splitShares[0]
      ? 'train'
      : u < options.splitShares[0] + options.splitShares[1]
        ? 'validation'
        : 'test';
  return {
    id: `C${String(index + 1).padStart(5, '0')}`,
    home,
    city,
    spend: logNormal(random, 45, 0.5),
    rate: logNormal(random, 1.1, 0.5),
    channels: [atm, ecom, 1 - atm - ecom],
    hourShift: normal(random, 0, 1.2),
    trip,
    split,
  };
}

/** Hour-of-day profile of legitimate use: mostly daytime and evening, a little at night. */
function legitMinuteOfDay(random: Random, shift: number): number {
  const mode = weightedIndex(random, [0.58, 0.36, 0.06]);
  const hour =
    mode === 0
      ? normal(random, 12.5 + shift, 3)
      : mode === 1
        ? normal(random, 19 + shift, 1.8)
        : random() * 24;
  return Math.floor((((hour % 24) + 24) % 24) * 60);
}

function legitDrafts(random: Random, world: World, card: Card, days: number): Draft[] {
  const drafts: Draft[] = [];
  for (let day = 0; day < days; day++) {
    const weekend = day % 7 >= 5;
    const count = poisson(random, card.rate * (weekend ? 0.8 : 1.05));
    for (let n = 0; n < count; n++) {
      const minute = day * MINUTES_PER_DAY + legitMinuteOfDay(random, card.hourShift);
      const channel = (['atm', 'ecom', 'pos'] as const)[weightedIndex(random, card.channels)]!;
      const travelling = card.trip !== null && minute >= card.trip.start && minute < card.trip.end;
      drafts.push(legitTransaction(random, world, card, minute, channel, travelling));
      // Shopping trips: a second purchase a few minutes later.
      if (channel === 'pos' && bernoulli(random, 0.12)) {
        const again = legitTransaction(
          random,
          world,
          card,
          minute + integer(random, 2, 9),
          'pos',
          travelling,
        );
        drafts.push({ ...again, site: drafts[drafts.length - 1]!.site });
      }
    }
  }
  return drafts;
}

function legitTransaction(
  random: Random,
  world: World,
  card: Card,
  minute: number,
  channel: Channel,
  travelling: boolean,
): Draft {
  let site: Site;
  if (channel === 'ecom') {
    const region = weightedPick(random, [
      ['domestic', 0.72],
      ['foreign_eea', 0.2],
      ['foreign_other', 0.08],
    ] as const);
    site = pick(random, world.acquirers[region]);
  } else if (travelling) {
    site = pick(random, card.trip!.sites);
  } else {
    const where = weightedIndex(random, [0.95, 0.04, 0.01]);
    const city = where === 0 ? world.cities[card.city]! : pick(random, world.cities);
    site = where === 0 && bernoulli(random, 0.35) ? card.home : pick(random, city.terminals);
  }
  let amount: number;
  let pinTries: number;
  if (channel === 'atm') {
    amount = clamp(Math.round(logNormal(random, card.spend * 1.6, 0.55) / 20) * 20, 20, 1000);
    pinTries = weightedPick(random, [
      [1, 0.955],
      [2, 0.04],
      [3, 0.005],
    ] as const);
  } else if (channel === 'pos') {
    // A few big-ticket purchases per card-month look risky and are not.
    amount = bernoulli(random, 0.02) ? logNormal(random, 600, 0.5) : logNormal(random, card.spend, 0.8);
    const contactless = amount < 50 && bernoulli(random, 0.7);
    pinTries = contactless
      ? 0
      : weightedPick(random, [
          [1, 0.962],
          [2, 0.033],
          [3, 0.005],
        ] as const);
  } else {
    amount = logNormal(random, card.spend * 1.2, 0.9);
    pinTries = 0;
  }
  return { minute, site, channel, amount: roundTo(clamp(amount, 1, 5000), 2), pinTries, kind: 'legit' };
}

function addFraud(random: Random, world: World, card: Card, drafts: Draft[], days: number): void {
  const scenario = weightedPick(random, [
    ['skim_cashout', 0.32],
    ['cnp_burst', 0.32],
    ['stolen_card', 0.2],
    ['mimic', 0.16],
  ] as const);
  let minute = Math.floor(random() * (days - 1) * MINUTES_PER_DAY);
  const night = (): void => {
    // Fraudsters favour the small hours; move the start there half of the time.
    if (bernoulli(random, 0.5))
      minute = Math.floor(minute / MINUTES_PER_DAY) * MINUTES_PER_DAY + integer(random, 0, 5 * 60);
  };
  const fraud: Draft[] = [];
  switch (scenario) {
    case 'skim_cashout': {
      if (bernoulli(random, 0.7)) night();
      const region = weightedPick(random, [
        ['domestic', 0.4],
        ['foreign_eea', 0.35],
        ['foreign_other', 0.25],
      ] as const);
      const sites =
        region === 'domestic'
          ? pick(
              random,
              world.cities.filter((_, i) => i !== card.city),
            ).terminals
          : pick(random, region === 'foreign_eea' ? world.eea : world.other);
      let site = pick(random, sites);
      // Most gangs check the cloned card with a small withdrawal first.
      const probe = bernoulli(random, 0.65);
      for (let n = integer(random, 2, 8), first = true; n > 0; n--, first = false) {
        if (bernoulli(random, 0.3)) site = pick(random, sites);
        const amount =
          first && probe
            ? integer(random, 1, 3) * 20
            : clamp(Math.round(logNormal(random, 380, 0.6) / 50) * 50, 50, 1000);
        const pinTries = weightedPick(random, [
          [1, 0.9],
          [2, 0.1],
        ] as const);
        fraud.push({ minute, site, channel: 'atm', amount, pinTries, kind: scenario });
        minute += integer(random, 2, 25);
      }
      break;
    }
    case 'cnp_burst': {
      if (bernoulli(random, 0.4)) night();
      const region = weightedPick(random, [
        ['domestic', 0.2],
        ['foreign_eea', 0.3],
        ['foreign_other', 0.5],
      ] as const);
      const site = pick(random, world.acquirers[region]);
      // A card-testing charge first, then the real ones.
      fraud.push({
        minute,
        site,
        channel: 'ecom',
        amount: roundTo(1 + random() * 4, 2),
        pinTries: 0,
        kind: scenario,
      });
      for (let n = integer(random, 1, 5); n > 0; n--) {
        minute += integer(random, 1, 40);
        const amount = roundTo(clamp(logNormal(random, 260, 0.6), 20, 5000), 2);
        fraud.push({ minute, site, channel: 'ecom', amount, pinTries: 0, kind: scenario });
      }
      break;
    }
    case 'stolen_card': {
      if (bernoulli(random, 0.6)) night();
      const terminals = world.cities[card.city]!.terminals;
      for (let n = integer(random, 1, 4), first = true; n > 0; n--, first = false) {
        const atm = bernoulli(random, 0.7);
        const pinTries = first
          ? weightedPick(random, [
              [1, 0.3],
              [2, 0.35],
              [3, 0.35],
            ] as const)
          : weightedPick(random, [
              [1, 0.7],
              [2, 0.2],
              [3, 0.1],
            ] as const);
        // The first try is often a small one, to see whether the guessed PIN works.
        const amount =
          first && bernoulli(random, 0.5)
            ? integer(random, 1, 5) * 20
            : atm
              ? clamp(Math.round(logNormal(random, 400, 0.5) / 20) * 20, 100, 1000)
              : roundTo(clamp(logNormal(random, 300, 0.6), 30, 3000), 2);
        fraud.push({
          minute,
          site: pick(random, terminals),
          channel: atm ? 'atm' : 'pos',
          amount,
          pinTries,
          kind: scenario,
        });
        minute += integer(random, 5, 90);
      }
      break;
    }
    case 'mimic': {
      minute =
        Math.floor(minute / MINUTES_PER_DAY) * MINUTES_PER_DAY + legitMinuteOfDay(random, card.hourShift);
      for (let n = integer(random, 1, 2); n > 0; n--) {
        const channel = (['atm', 'ecom', 'pos'] as const)[weightedIndex(random, card.channels)]!;
        fraud.push({ ...legitTransaction(random, world, card, minute, channel, false), kind: scenario });
        minute += integer(random, 30, 600);
      }
      break;
    }
  }
  // The card is blocked after the fraud is noticed: the holder's later transactions never happen.
  const blockedAt = fraud[fraud.length - 1]!.minute + integer(random, 30, 24 * 60);
  const kept = drafts.filter((d) => d.minute < blockedAt);
  drafts.length = 0;
  drafts.push(...kept, ...fraud);
}

function withVelocity(card: Card, drafts: readonly Draft[]): AtmTransaction[] {
  const rows: AtmTransaction[] = [];
  for (let i = 0; i < drafts.length; i++) {
    const draft = drafts[i]!;
    let count10m = 0;
    let sum10m = 0;
    let count24h = 0;
    let sum24h = 0;
    for (let j = i - 1; j >= 0; j--) {
      const age = draft.minute - drafts[j]!.minute;
      if (age > MINUTES_PER_DAY) break;
      count24h++;
      sum24h += drafts[j]!.amount;
      if (age <= 10) {
        count10m++;
        sum10m += drafts[j]!.amount;
      }
    }
    const distance = Math.hypot(draft.site.x - card.home.x, draft.site.y - card.home.y);
    rows.push({
      id: '',
      ts: new Date(EPOCH_MS + draft.minute * 60_000).toISOString().slice(0, 16),
      card: card.id,
      terminal: draft.site.id,
      channel: draft.channel,
      amount: draft.amount,
      currency: draft.site.region,
      hour: Math.floor(draft.minute / 60) % 24,
      weekday: Math.floor(draft.minute / MINUTES_PER_DAY) % 7,
      cardPresent: draft.channel === 'ecom' ? 0 : 1,
      count10m,
      sum10m: roundTo(sum10m, 2),
      count24h,
      sum24h: roundTo(sum24h, 2),
      distanceKm: roundTo(distance, 1),
      pinTries: draft.pinTries,
      label: draft.kind === 'legit' ? 0 : 1,
      kind: draft.kind,
      split: card.split,
    });
  }
  return rows;
}
