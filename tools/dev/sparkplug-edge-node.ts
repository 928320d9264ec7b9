/**
 * A Sparkplug B edge node for demos and tests, written with the same library the gateway reads with
 * (`sparkplug-payload`): NBIRTH/DBIRTH with aliases, DDATA by alias, DDEATH, NDEATH as its Will, and a
 * rebirth when asked (NCMD `Node Control/Rebirth`). Commands it receives are decoded and handed on.
 */
import mqtt from 'mqtt';
import sparkplugPayload from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import tahu from 'sparkplug-payload/lib/sparkplugPayloadProto.js';

const spB = sparkplugPayload.get('spBv1.0')!;
const PayloadCodec = tahu.org.eclipse.tahu.protobuf.Payload;

export type MetricType = 'Float' | 'Double' | 'Int32' | 'Int64' | 'Boolean' | 'String';

export interface MetricSpec {
  name: string;
  alias: number;
  type: MetricType;
}

export interface EdgeNodeOptions {
  url: string;
  group: string;
  edge: string;
  /** Device id → its metrics. */
  devices: Record<string, MetricSpec[]>;
  protocolVersion?: 4 | 5;
  /** Answer rebirth requests (default true). */
  rebirthOnRequest?: boolean;
}

export interface ReceivedCommand {
  topic: string;
  /** Metric name → value. */
  metrics: Record<string, unknown>;
}

export type MetricValues = Record<string, number | boolean | string | null>;

export class SparkplugEdgeNode {
  private readonly options: EdgeNodeOptions;
  private client: mqtt.MqttClient | undefined;
  private seq = 0;
  private readonly bdSeq = 0;
  /** Last value published per device and metric, for the DBIRTH of a rebirth. */
  private readonly current = new Map<string, MetricValues>();
  readonly commands: ReceivedCommand[] = [];
  rebirths = 0;

  constructor(options: EdgeNodeOptions) {
    this.options = options;
  }

  private topic(type: string, device?: string): string {
    const base = `spBv1.0/${this.options.group}/${type}/${this.options.edge}`;
    return device === undefined ? base : `${base}/${device}`;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % 256;
    return this.seq;
  }

  async connect(): Promise<void> {
    const death = spB.encodePayload({
      timestamp: Date.now(),
      metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }],
    });
    this.client = await mqtt.connectAsync(this.options.url, {
      protocolVersion: this.options.protocolVersion ?? 5,
      clientId: `sparkplug-edge-${this.options.edge}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      clean: true,
      reconnectPeriod: 0,
      will: { topic: this.topic('NDEATH'), payload: Buffer.from(death), qos: 1, retain: false },
    });
    this.client.on('message', (topic, payload) => this.onCommand(topic, payload));
    await this.client.subscribeAsync([this.topic('NCMD'), `${this.topic('DCMD')}/+`], { qos: 0 });
  }

  /** NBIRTH (seq 0, bdSeq) then one DBIRTH per device, each with every metric's name, alias and type. */
  async birth(initial: Record<string, MetricValues> = {}): Promise<void> {
    this.seq = 0;
    await this.send(this.topic('NBIRTH'), {
      timestamp: Date.now(),
      seq: 0,
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: this.bdSeq },
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
      ],
    });
    for (const [device, specs] of Object.entries(this.options.devices)) {
      const values = { ...this.current.get(device), ...initial[device] };
      this.current.set(device, values);
      await this.send(this.topic('DBIRTH', device), {
        timestamp: Date.now(),
        seq: this.nextSeq(),
        metrics: specs.map((spec) => ({
          name: spec.name,
          alias: spec.alias,
          type: spec.type,
          value: values[spec.name] ?? null,
        })),
      });
    }
  }

  /** DDATA with the given metrics by alias (no name, no datatype, as 3.0 DATA is usually sent). */
  async data(
    device: string,
    values: MetricValues,
    options: { aliases?: Record<string, number>; timestamp?: number } = {},
  ): Promise<{ seq: number; timestamp: number }> {
    const specs = this.options.devices[device] ?? [];
    const metrics: UMetric[] = Object.entries(values).map(([name, value]) => {
      const spec = specs.find((s) => s.name === name);
      const alias = options.aliases?.[name] ?? spec?.alias;
      if (alias === undefined) throw new Error(`no alias for metric ${name}`);
      // Tahu's encoder needs the type to pick the value field; a DATA metric omits it on the wire below.
      return { alias, type: spec?.type ?? 'Double', value };
    });
    this.current.set(device, { ...this.current.get(device), ...values });
    const timestamp = options.timestamp ?? Date.now();
    const seq = this.nextSeq();
    await this.send(this.topic('DDATA', device), { timestamp, seq, metrics }, true);
    return { seq, timestamp };
  }

  async deviceDeath(device: string): Promise<void> {
    await this.send(this.topic('DDEATH', device), { timestamp: Date.now(), seq: this.nextSeq() });
  }

  /** Loses a message: the next one carries a seq one further than the host expects. */
  skipSeq(): void {
    this.nextSeq();
  }

  /** Publishes raw bytes on the device's DDATA topic (a malformed payload). */
  async raw(device: string, payload: Buffer): Promise<void> {
    await this.client!.publishAsync(this.topic('DDATA', device), payload, { qos: 1 });
  }

  async end(): Promise<void> {
    await this.client?.endAsync(true);
  }

  private async send(topic: string, payload: UPayload, omitDatatype = false): Promise<void> {
    let bytes = spB.encodePayload(payload);
    if (omitDatatype) bytes = stripDatatypes(bytes);
    await this.client!.publishAsync(topic, Buffer.from(bytes), { qos: 1 });
  }

  private onCommand(topic: string, payload: Buffer): void {
    const decoded = spB.decodePayload(payload);
    const metrics: Record<string, unknown> = {};
    for (const metric of decoded.metrics ?? []) if (metric.name) metrics[metric.name] = metric.value;
    this.commands.push({ topic, metrics });
    if (metrics['Node Control/Rebirth'] === true && this.options.rebirthOnRequest !== false) {
      this.rebirths += 1;
      void this.birth();
    }
  }
}

/**
 * Re-encodes a payload with every metric's datatype removed: Sparkplug 3.0 DATA carries aliases and
 * values only, and the host must take the datatype from the BIRTH.
 */
function stripDatatypes(bytes: Uint8Array): Uint8Array {
  const decoded = PayloadCodec.decode(bytes);
  for (const metric of decoded.metrics) delete (metric as { datatype?: number }).datatype;
  return PayloadCodec.encode(decoded).finish();
}
