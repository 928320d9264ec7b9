/**
 * Sparkplug B payloads, read with Eclipse Tahu's generated protobuf (the `sparkplug-payload` package), and
 * metric values taken by the datatype their BIRTH declared. Tahu's `decodePayload` is not used for DATA:
 * it picks the value by the datatype in the message itself, and Sparkplug 3.0 DATA metrics usually leave
 * the datatype out (§6.4.16: it is only required in BIRTH), so their values would come back null.
 */
import { createRequire } from 'node:module';
import type sparkplugPayload from 'sparkplug-payload';
import type tahu from 'sparkplug-payload/lib/sparkplugPayloadProto.js';
import { ErrorCodes, InputError } from '../../daemon/errors.js';

type Protobuf = typeof tahu.org.eclipse.tahu.protobuf;
export type RawPayload = ReturnType<Protobuf['Payload']['decode']>;
export type RawMetric = RawPayload['metrics'][number];
type Codec = { Payload: Protobuf['Payload']; spB: ReturnType<typeof sparkplugPayload.get> & object };

const require = createRequire(import.meta.url);
let codec: Codec | undefined;

/**
 * Tahu's protobuf code, required on first use: the entry point always builds the Sparkplug host layer (a
 * reload may add a Sparkplug pipeline), and protobufjs with Tahu's generated messages stayed resident on
 * every gateway. The host layer loads it when it subscribes to Sparkplug topics (~25 ms, once), so no
 * message waits for it.
 */
export function loadSparkplugCodec(): Codec {
  if (codec === undefined) {
    const proto = require('sparkplug-payload/lib/sparkplugPayloadProto.js') as typeof tahu;
    const payloads = require('sparkplug-payload') as typeof sparkplugPayload;
    codec = { Payload: proto.org.eclipse.tahu.protobuf.Payload, spB: payloads.get('spBv1.0')! };
  }
  return codec;
}

/** Tahu's encoder, for commands (NCMD/DCMD) and the edge-node simulator. */
export function encodePayload(payload: Parameters<Codec['spB']['encodePayload']>[0]): Uint8Array {
  return loadSparkplugCodec().spB.encodePayload(payload);
}

/** Sparkplug B 3.0 §6.4.16 datatype codes the gateway reads. */
export const DataType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  Int8Array: 22,
  Int16Array: 23,
  Int32Array: 24,
  Int64Array: 25,
  UInt8Array: 26,
  UInt16Array: 27,
  UInt32Array: 28,
  UInt64Array: 29,
  FloatArray: 30,
  DoubleArray: 31,
  BooleanArray: 32,
  StringArray: 33,
  DateTimeArray: 34,
} as const;

/** A metric's value in an event: numbers for every integer and float type, arrays for the array types. */
export type MetricValue = number | boolean | string | number[] | boolean[] | string[];

/** Sparkplug quality codes (the `Quality` property): 192 is GOOD; anything else makes the value missing. */
const QUALITY_GOOD = 192;

/** Throws IG_ERR_SPARKPLUG_PAYLOAD when the bytes are not a Sparkplug B payload. */
export function decodeSparkplugPayload(bytes: Uint8Array): RawPayload {
  try {
    return loadSparkplugCodec().Payload.decode(bytes);
  } catch (error) {
    throw new InputError(ErrorCodes.SPARKPLUG_PAYLOAD, 'payload is not a Sparkplug B payload', undefined, {
      cause: error,
    });
  }
}

/** protobufjs gives 64-bit fields as Long objects (`{low, high, unsigned}`); null when absent. */
export function longToNumber(value: number | { toNumber(): number } | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? value : value.toNumber();
}

/** A metric's alias, when it carries one (a field left at its default is absent, not 0). */
export function aliasOf(metric: RawMetric): number | null {
  return Object.hasOwn(metric, 'alias') ? longToNumber(metric.alias) : null;
}

/**
 * The value of `metric` read as `datatype`: null when the metric is null or its quality is not GOOD (the
 * model input then counts as missing), undefined for datatypes an event does not carry (DataSet, Bytes,
 * File, Template, PropertySet). Throws IG_ERR_SPARKPLUG_PAYLOAD when the value field does not fit.
 */
export function metricValue(
  metric: RawMetric,
  datatype: number,
  name: string,
): MetricValue | null | undefined {
  if (metric.isNull === true || !goodQuality(metric)) return null;
  const field = (metric as { value?: string }).value;
  const wrong = (): InputError =>
    new InputError(
      ErrorCodes.SPARKPLUG_PAYLOAD,
      `metric ${name} does not carry a value of its BIRTH datatype ${datatype}`,
      name,
    );
  switch (datatype) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
      if (field !== 'intValue') throw wrong();
      return narrowInt(metric.intValue ?? 0, datatype);
    case DataType.UInt32:
      // 3.0 puts UInt32 into int_value; Tahu's JS encoder (and 2.2 practice) into long_value.
      if (field === 'intValue') return (metric.intValue ?? 0) >>> 0;
      if (field === 'longValue') return longToNumber(metric.longValue);
      throw wrong();
    case DataType.Int64:
      if (field !== 'longValue') throw wrong();
      return signedLong(metric.longValue);
    case DataType.UInt64:
    case DataType.DateTime:
      if (field !== 'longValue') throw wrong();
      return longToNumber(metric.longValue);
    case DataType.Float:
      if (field !== 'floatValue') throw wrong();
      return metric.floatValue;
    case DataType.Double:
      if (field !== 'doubleValue') throw wrong();
      return metric.doubleValue;
    case DataType.Boolean:
      if (field !== 'booleanValue') throw wrong();
      return metric.booleanValue;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      if (field !== 'stringValue') throw wrong();
      return metric.stringValue;
    default:
      if (datatype >= DataType.Int8Array && datatype <= DataType.DateTimeArray) {
        if (field !== 'bytesValue') throw wrong();
        const array = decodeArray(Buffer.from(metric.bytesValue ?? []), datatype);
        if (array === null) throw wrong();
        return array;
      }
      return undefined;
  }
}

/** Int8/Int16 travel in a uint32 field; some encoders sign-extend to 32 bits, some do not. */
function narrowInt(value: number, datatype: number): number {
  switch (datatype) {
    case DataType.Int8:
      return (value << 24) >> 24;
    case DataType.Int16:
      return (value << 16) >> 16;
    case DataType.Int32:
      return value | 0;
    default:
      return value >>> 0;
  }
}

function signedLong(
  value: number | { toSigned(): { toNumber(): number } } | null | undefined,
): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? value : value.toSigned().toNumber();
}

/** The `Quality` property (Int32) when present; a metric without one is GOOD. */
function goodQuality(metric: RawMetric): boolean {
  const properties = metric.properties;
  if (properties === null || properties === undefined) return true;
  const index = (properties.keys ?? []).indexOf('Quality');
  if (index < 0) return true;
  const property = properties.values?.[index];
  if (property === undefined || property.isNull === true) return true;
  const quality =
    (property as { value?: string }).value === 'longValue'
      ? longToNumber(property.longValue)
      : property.intValue;
  return quality === QUALITY_GOOD;
}

const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [DataType.Int8Array]: 1,
  [DataType.UInt8Array]: 1,
  [DataType.Int16Array]: 2,
  [DataType.UInt16Array]: 2,
  [DataType.Int32Array]: 4,
  [DataType.UInt32Array]: 4,
  [DataType.FloatArray]: 4,
  [DataType.Int64Array]: 8,
  [DataType.UInt64Array]: 8,
  [DataType.DoubleArray]: 8,
  [DataType.DateTimeArray]: 8,
};

/**
 * Sparkplug 3.0 §6.4.17 array encodings: little-endian packed elements; BooleanArray is a uint32 LE count
 * then the bits, most significant first; StringArray is NUL-terminated UTF-8 strings. Null when the bytes
 * do not fit the type.
 */
export function decodeArray(bytes: Buffer, datatype: number): number[] | boolean[] | string[] | null {
  if (datatype === DataType.BooleanArray) {
    if (bytes.length < 4) return null;
    const count = bytes.readUInt32LE(0);
    if (Math.ceil(count / 8) !== bytes.length - 4) return null;
    const out: boolean[] = [];
    for (let i = 0; i < count; i++) out.push((bytes[4 + (i >> 3)]! & (0x80 >> (i & 7))) !== 0);
    return out;
  }
  if (datatype === DataType.StringArray) {
    if (bytes.length === 0) return [];
    if (bytes[bytes.length - 1] !== 0) return null;
    return bytes
      .subarray(0, bytes.length - 1)
      .toString('utf8')
      .split('\u0000');
  }
  const size = ELEMENT_BYTES[datatype];
  if (size === undefined || bytes.length % size !== 0) return null;
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(readElement(bytes, at, datatype));
  return out;
}

function readElement(bytes: Buffer, at: number, datatype: number): number {
  switch (datatype) {
    case DataType.Int8Array:
      return bytes.readInt8(at);
    case DataType.UInt8Array:
      return bytes.readUInt8(at);
    case DataType.Int16Array:
      return bytes.readInt16LE(at);
    case DataType.UInt16Array:
      return bytes.readUInt16LE(at);
    case DataType.Int32Array:
      return bytes.readInt32LE(at);
    case DataType.UInt32Array:
      return bytes.readUInt32LE(at);
    case DataType.FloatArray:
      return bytes.readFloatLE(at);
    case DataType.DoubleArray:
      return bytes.readDoubleLE(at);
    case DataType.Int64Array:
      return Number(bytes.readBigInt64LE(at));
    default:
      return Number(bytes.readBigUInt64LE(at));
  }
}
