/**
 * The event shapes the bench can send (`--event atm,wide`): for each, the event generator, the model row
 * and decision the bare loop computes, and the gateway pipeline's `input` and `decide` sections that the
 * gateway and the Node-RED flow are built from. Every system gets the same events and computes the same row.
 */
import {
  ATM_FEATURE_COUNT,
  atmDecision,
  atmFeatures,
  makeAtmEventGenerator,
  type AtmEvent,
} from './atm-event.js';
import {
  makeWideEventGenerator,
  WIDE_DECIDE,
  WIDE_FEATURE_COUNT,
  WIDE_FIELDS,
  wideDecision,
  wideFeatures,
  type WideEvent,
} from './wide-event.js';

export const EVENT_SHAPES = ['atm', 'wide'] as const;
export type EventShapeName = (typeof EVENT_SHAPES)[number];

/** One generated event and the topic level it is published under (terminal, station). */
export interface GeneratedEvent {
  id: string;
  source: string;
  body: object;
}

export interface EventShape {
  name: EventShapeName;
  /** Model name and pipeline name in the generated gateway config. */
  pipeline: string;
  /** First topic level of the gateway's subscription (`atm/+/tx`, `wide/+/tx`). */
  gatewayTopicPrefix: string;
  featureCount: number;
  /** The row the bare loop feeds the model. */
  features(event: unknown, out: Float32Array): Float32Array;
  decision(score: number): string;
  /** Seeded stream of events from `sources` terminals or stations. */
  generator(seed: number, sources: number): (id: string) => GeneratedEvent;
}

const ATM: EventShape = {
  name: 'atm',
  pipeline: 'atm-risk',
  gatewayTopicPrefix: 'atm',
  featureCount: ATM_FEATURE_COUNT,
  features: (event, out) => atmFeatures(event as AtmEvent, out),
  decision: atmDecision,
  generator(seed, sources) {
    const next = makeAtmEventGenerator(seed, sources);
    return (id) => {
      const body = next(id);
      return { id, source: body.terminal, body };
    };
  },
};

const WIDE: EventShape = {
  name: 'wide',
  pipeline: 'wide-inspection',
  gatewayTopicPrefix: 'wide',
  featureCount: WIDE_FEATURE_COUNT,
  features: (event, out) => wideFeatures(event as WideEvent, out),
  decision: wideDecision,
  generator(seed, sources) {
    const next = makeWideEventGenerator(seed, sources);
    return (id) => {
      const body = next(id);
      return { id, source: body.station, body };
    };
  },
};

export function eventShape(name: string): EventShape {
  if (name === 'atm') return ATM;
  if (name === 'wide') return WIDE;
  throw new Error(`unknown event shape ${name} (${EVENT_SHAPES.join(', ')})`);
}

/** The wide pipeline's sections; the atm ones come from config/default.yaml (systems-under-test.ts). */
export const WIDE_PIPELINE_SECTIONS = {
  input: { fields: [...WIDE_FIELDS] as unknown[] },
  decide: WIDE_DECIDE as unknown,
};
