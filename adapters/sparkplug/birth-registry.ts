/**
 * What the host knows of each edge node and device from their BIRTH and DEATH certificates: every metric's
 * name, alias and datatype, its current value (Sparkplug reports by exception, so a DATA message carries
 * only what changed), the node's `bdSeq` and `seq`. Messages must be applied in arrival order.
 */
import { ErrorCodes, InputError, type ErrorCode } from '../../daemon/errors.js';
import {
  aliasOf,
  longToNumber,
  metricValue,
  type MetricValue,
  type RawMetric,
  type RawPayload,
} from './payload.js';
import { seqStep, validSeq } from './seq.js';
import { nodeKey, type SparkplugTopic } from './topic.js';

export interface RegistryLimits {
  maxEdgeNodes: number;
  maxDevicesPerNode: number;
  maxMetricsPerBirth: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  maxEdgeNodes: 1024,
  maxDevicesPerNode: 1024,
  maxMetricsPerBirth: 10_000,
};

/** Why DATA is refused: becomes the event's InputError. */
export interface Refusal {
  code: ErrorCode;
  message: string;
  field?: string;
}

/** The state of a device (or of the edge node itself, for NDATA) after one DATA message. */
export interface DataReading {
  /** Every metric of the BIRTH by name, with its current value; null is missing (null or bad quality). */
  values: ReadonlyMap<string, MetricValue | null>;
  seq: number;
  /** The payload's timestamp, ms since the epoch; null when the message had none. */
  timestamp: number | null;
  /** The same seq as the message before: a redelivery, whose values were applied already. */
  repeat: boolean;
}

export interface Observation {
  /** The edge node's BIRTH state cannot be trusted: it should be asked to publish its BIRTHs again. */
  rebirth: boolean;
  /** DATA only: why its event is refused. */
  refusal: Refusal | null;
  /** DATA only: the resolved metrics, when not refused. */
  reading: DataReading | null;
  /** BIRTH and DEATH only: what was not applied, and why (for the log). */
  ignored: string | null;
}

interface MetricDef {
  name: string;
  datatype: number;
}

/** One BIRTH's metric definitions, and the current value of each. */
interface Birth {
  byAlias: Map<number, MetricDef>;
  byName: Map<string, MetricDef>;
  values: Map<string, MetricValue | null>;
}

interface Device {
  online: boolean;
  birth: Birth;
}

interface EdgeNode {
  /** `stale`: a rebirth is awaited (seq gap, unknown metric); `why` says which. */
  status: 'online' | 'dead' | 'stale';
  why: Refusal | null;
  bdSeq: number | null;
  seq: number;
  birth: Birth;
  devices: Map<string, Device>;
}

const NO_OBSERVATION: Observation = { rebirth: false, refusal: null, reading: null, ignored: null };

export class BirthRegistry {
  private readonly limits: RegistryLimits;
  /** In least-recently-used order: the first entry is evicted when the bound is reached. */
  private readonly nodes = new Map<string, EdgeNode>();

  constructor(limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS) {
    this.limits = limits;
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Applies one message of an edge node, in arrival order. */
  apply(topic: SparkplugTopic, payload: RawPayload): Observation {
    switch (topic.type) {
      case 'NBIRTH':
        return this.nodeBirth(topic, payload);
      case 'NDEATH':
        return this.nodeDeath(topic, payload);
      case 'DBIRTH':
      case 'DDEATH':
        return this.deviceCertificate(topic, payload);
      case 'NDATA':
      case 'DDATA':
        return this.data(topic, payload, true);
      default:
        return NO_OBSERVATION;
    }
  }

  /**
   * Resolves DATA against the BIRTH state as it is now, changing nothing and checking no seq: for an event
   * read again from the inbox (after a restart the registry is empty and the event is refused).
   */
  peek(topic: SparkplugTopic, payload: RawPayload): Observation {
    return this.data(topic, payload, false);
  }

  /** True when the edge node (device null) or device has a BIRTH on record and no DEATH since. */
  isBorn(group: string, edge: string, device: string | null): boolean {
    const node = this.nodes.get(nodeKey(group, edge));
    if (node === undefined || node.status !== 'online') return false;
    return device === null || node.devices.get(device)?.online === true;
  }

  private nodeBirth(topic: SparkplugTopic, payload: RawPayload): Observation {
    const key = nodeKey(topic.group, topic.edge);
    const seq = longToNumber(payload.seq);
    const birth = readBirth(payload.metrics, this.limits.maxMetricsPerBirth);
    this.nodes.delete(key);
    const evicted = this.makeRoom(this.nodes, this.limits.maxEdgeNodes);
    if (typeof birth === 'string' || !validSeq(seq)) {
      const problem = typeof birth === 'string' ? birth : 'it has no seq 0–255';
      this.nodes.set(key, {
        status: 'stale',
        why: refusal(ErrorCodes.SPARKPLUG_NO_BIRTH, `the NBIRTH of ${key} was refused: ${problem}`),
        bdSeq: null,
        seq: 0,
        birth: emptyBirth(),
        devices: new Map(),
      });
      return { ...NO_OBSERVATION, ignored: `NBIRTH refused: ${problem}` };
    }
    this.nodes.set(key, {
      status: 'online',
      why: null,
      bdSeq: bdSeqOf(payload.metrics),
      seq,
      birth,
      devices: new Map(),
    });
    return { ...NO_OBSERVATION, ignored: evicted ? 'the least recently seen edge node was forgotten' : null };
  }

  private nodeDeath(topic: SparkplugTopic, payload: RawPayload): Observation {
    const key = nodeKey(topic.group, topic.edge);
    const node = this.nodes.get(key);
    if (node === undefined) return { ...NO_OBSERVATION, ignored: 'NDEATH of an edge node with no BIRTH' };
    const bdSeq = bdSeqOf(payload.metrics);
    // A Will from an earlier session (the broker may deliver it late) must not end the current one.
    if (node.bdSeq !== null && bdSeq !== null && bdSeq !== node.bdSeq) {
      return { ...NO_OBSERVATION, ignored: `NDEATH bdSeq ${bdSeq} is not the session's (${node.bdSeq})` };
    }
    node.status = 'dead';
    node.why = refusal(ErrorCodes.SPARKPLUG_DEAD, `edge node ${key} is offline (NDEATH)`);
    return NO_OBSERVATION;
  }

  private deviceCertificate(topic: SparkplugTopic, payload: RawPayload): Observation {
    const device = topic.device!;
    const node = this.liveNode(topic);
    if (node === null) {
      return {
        ...NO_OBSERVATION,
        rebirth: true,
        ignored: `${topic.type} from an edge node with no live BIRTH`,
      };
    }
    const step = this.stepSeq(node, payload, topic);
    if (step !== null) return { ...NO_OBSERVATION, ...step };
    if (topic.type === 'DDEATH') {
      const known = node.devices.get(device);
      if (known !== undefined) known.online = false;
      return NO_OBSERVATION;
    }
    const birth = readBirth(payload.metrics, this.limits.maxMetricsPerBirth);
    if (typeof birth === 'string') {
      node.devices.delete(device);
      return { ...NO_OBSERVATION, ignored: `DBIRTH refused: ${birth}` };
    }
    node.devices.delete(device);
    const evicted = this.makeRoom(node.devices, this.limits.maxDevicesPerNode);
    node.devices.set(device, { online: true, birth });
    return { ...NO_OBSERVATION, ignored: evicted ? 'the least recently born device was forgotten' : null };
  }

  private data(topic: SparkplugTopic, payload: RawPayload, commit: boolean): Observation {
    const key = nodeKey(topic.group, topic.edge);
    const node = this.nodes.get(key);
    if (node === undefined) {
      return refused(
        refusal(ErrorCodes.SPARKPLUG_NO_BIRTH, `no NBIRTH on record for edge node ${key}`),
        commit,
      );
    }
    if (commit) this.touch(key, node);
    if (node.status !== 'online') return refused(node.why!, commit);
    const seq = longToNumber(payload.seq);
    let repeat = false;
    if (commit) {
      const step = this.stepSeq(node, payload, topic);
      if (step?.refusal != null) return { ...NO_OBSERVATION, ...step };
      repeat = step !== null;
    } else if (!validSeq(seq)) {
      return refused(refusal(ErrorCodes.SPARKPLUG_PAYLOAD, 'DATA without a seq 0–255'), false);
    }
    let birth = node.birth;
    if (topic.device !== null) {
      const device = node.devices.get(topic.device);
      if (device === undefined) {
        const message = `no DBIRTH on record for device ${topic.device} of edge node ${key}`;
        return refused(refusal(ErrorCodes.SPARKPLUG_NO_BIRTH, message), commit);
      }
      if (!device.online) {
        const message = `device ${topic.device} of edge node ${key} is offline (DDEATH)`;
        return refused(refusal(ErrorCodes.SPARKPLUG_DEAD, message), commit);
      }
      birth = device.birth;
    }
    const updates = resolveMetrics(birth, payload.metrics ?? []);
    if (!Array.isArray(updates)) {
      // An alias or name the BIRTH did not declare: the aliases are out of date until the node rebirths.
      if (updates.code === ErrorCodes.SPARKPLUG_UNKNOWN_METRIC && commit) {
        node.status = 'stale';
        node.why = refusal(updates.code, `${updates.message}; awaiting the rebirth of ${key}`, updates.field);
      }
      return refused(updates, commit && updates.code === ErrorCodes.SPARKPLUG_UNKNOWN_METRIC);
    }
    let values: Map<string, MetricValue | null>;
    if (commit) {
      if (!repeat) for (const [name, value] of updates) birth.values.set(name, value);
      values = new Map(birth.values);
    } else {
      values = new Map(birth.values);
      for (const [name, value] of updates) values.set(name, value);
    }
    return {
      rebirth: false,
      refusal: null,
      reading: { values, seq: seq!, timestamp: longToNumber(payload.timestamp), repeat },
      ignored: null,
    };
  }

  /**
   * Moves the node's seq on. Null when `payload` is the next message (or, for DATA, a repeat: then the
   * caller is told by a non-null result without a refusal); a gap marks the node stale.
   */
  private stepSeq(node: EdgeNode, payload: RawPayload, topic: SparkplugTopic): Partial<Observation> | null {
    const seq = longToNumber(payload.seq);
    if (!validSeq(seq)) {
      return {
        refusal: refusal(ErrorCodes.SPARKPLUG_PAYLOAD, `${topic.type} without a seq 0–255`),
        ignored: 'no seq',
      };
    }
    const step = seqStep(node.seq, seq);
    if (step === 'next') {
      node.seq = seq;
      return null;
    }
    if (step === 'repeat') return { ignored: 'a repeat of the last seq' };
    const key = nodeKey(topic.group, topic.edge);
    const message = `seq ${seq} after ${node.seq} from edge node ${key}: messages were lost; awaiting its rebirth`;
    node.status = 'stale';
    node.why = refusal(ErrorCodes.SPARKPLUG_SEQ_GAP, message);
    return { rebirth: true, refusal: node.why, reading: null, ignored: `seq gap (${node.seq} → ${seq})` };
  }

  private liveNode(topic: SparkplugTopic): EdgeNode | null {
    const key = nodeKey(topic.group, topic.edge);
    const node = this.nodes.get(key);
    if (node === undefined || node.status !== 'online') return null;
    this.touch(key, node);
    return node;
  }

  private touch(key: string, node: EdgeNode): void {
    this.nodes.delete(key);
    this.nodes.set(key, node);
  }

  /** Drops the least recently used entry when `map` is full; true when one was dropped. */
  private makeRoom<V>(map: Map<string, V>, max: number): boolean {
    if (map.size < max) return false;
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
    return true;
  }
}

function refusal(code: ErrorCode, message: string, field?: string): Refusal {
  return field === undefined ? { code, message } : { code, message, field };
}

/** A refused DATA event; every refusal but a bad payload asks the edge node for its BIRTHs again. */
function refused(why: Refusal, rebirth: boolean): Observation {
  return {
    rebirth: rebirth && why.code !== ErrorCodes.SPARKPLUG_PAYLOAD,
    refusal: why,
    reading: null,
    ignored: null,
  };
}

function emptyBirth(): Birth {
  return { byAlias: new Map(), byName: new Map(), values: new Map() };
}

/** The metric definitions and initial values of a BIRTH, or why it cannot be used. */
function readBirth(metrics: RawMetric[] | null | undefined, maxMetrics: number): Birth | string {
  const list = metrics ?? [];
  if (list.length > maxMetrics) return `more than ${maxMetrics} metrics`;
  const birth = emptyBirth();
  for (const metric of list) {
    const name = metric.name;
    if (typeof name !== 'string' || name === '') return 'a metric without a name';
    if (typeof metric.datatype !== 'number') return `metric ${name} has no datatype`;
    const def = { name, datatype: metric.datatype };
    const alias = aliasOf(metric);
    if (alias !== null) {
      if (birth.byAlias.has(alias)) return `alias ${alias} is used twice`;
      birth.byAlias.set(alias, def);
    }
    birth.byName.set(name, def);
    try {
      const value = metricValue(metric, def.datatype, name);
      if (value !== undefined) birth.values.set(name, value);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return error.message;
    }
  }
  return birth;
}

/** Metric name → new value for every current (not historical) metric of a DATA message, or why not. */
function resolveMetrics(birth: Birth, metrics: RawMetric[]): [string, MetricValue | null][] | Refusal {
  const updates: [string, MetricValue | null][] = [];
  for (const metric of metrics) {
    // Historical values (3.0 §6.4.8) are late records of the past, not the current state.
    if (metric.isHistorical === true) continue;
    const alias = aliasOf(metric);
    const def = alias !== null ? birth.byAlias.get(alias) : birth.byName.get(metric.name ?? '');
    if (def === undefined) {
      const field = alias !== null ? `alias ${alias}` : metric.name || '(no alias, no name)';
      return refusal(ErrorCodes.SPARKPLUG_UNKNOWN_METRIC, `metric ${field} is not in the BIRTH`, field);
    }
    try {
      const value = metricValue(metric, def.datatype, def.name);
      if (value !== undefined) updates.push([def.name, value]);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return refusal(error.code, error.message, def.name);
    }
  }
  return updates;
}

/** The `bdSeq` metric of an NBIRTH or NDEATH (3.0 §6.4.18), when present. */
function bdSeqOf(metrics: RawMetric[] | null | undefined): number | null {
  const metric = metrics?.find((m) => m.name === 'bdSeq');
  return metric === undefined ? null : longToNumber(metric.longValue);
}
