/**
 * Protocol Buffers wire-format reader, the counterpart of protobuf-writer.ts: splits a message into its
 * fields without a schema. Every field keeps its exact original bytes (`record`: tag and payload), so a
 * message can be written back with the untouched fields byte-for-byte as they were, unknown ones included.
 * Malformed input (truncated varints or payloads, group wire types, field number 0) throws RangeError.
 */
import { WireType, type WireTypeNumber } from './protobuf-writer.js';

export interface ProtobufField {
  number: number;
  wireType: WireTypeNumber;
  /** Tag and payload, exactly as in the input. */
  record: Uint8Array;
  /** Varint: the value as an unsigned 64-bit bigint. */
  varint: bigint;
  /** Length-delimited: the payload; fixed32/fixed64: their 4 or 8 bytes. Empty for varints. */
  payload: Uint8Array;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function readFields(bytes: Uint8Array): ProtobufField[] {
  const fields: ProtobufField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const [tag, afterTag] = readVarint(bytes, at);
    at = afterTag;
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (number < 1 || number > 536_870_911)
      throw new RangeError(`protobuf: invalid field number at byte ${start}`);
    let varint = 0n;
    let payload = bytes.subarray(at, at);
    switch (wireType) {
      case WireType.varint:
        [varint, at] = readVarint(bytes, at);
        break;
      case WireType.fixed64:
        payload = take(bytes, at, 8);
        at += 8;
        break;
      case WireType.fixed32:
        payload = take(bytes, at, 4);
        at += 4;
        break;
      case WireType.lengthDelimited: {
        const [length, afterLength] = readVarint(bytes, at);
        if (length > BigInt(bytes.length - afterLength)) {
          throw new RangeError(`protobuf: field ${number} at byte ${start} runs past the end`);
        }
        payload = take(bytes, afterLength, Number(length));
        at = afterLength + Number(length);
        break;
      }
      default:
        throw new RangeError(`protobuf: unsupported wire type ${wireType} (field ${number}, byte ${start})`);
    }
    fields.push({
      number,
      wireType: wireType as WireTypeNumber,
      record: bytes.subarray(start, at),
      varint,
      payload,
    });
  }
  return fields;
}

/** A varint field as a JavaScript number (int64 values beyond 2^53 throw); negative int64 come back negative. */
export function fieldInt(field: ProtobufField): number {
  expectWire(field, WireType.varint);
  const value = BigInt.asIntN(64, field.varint);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`protobuf: field ${field.number} value ${value} is not a safe integer`);
  }
  return Number(value);
}

export function fieldString(field: ProtobufField): string {
  expectWire(field, WireType.lengthDelimited);
  try {
    return textDecoder.decode(field.payload);
  } catch (error) {
    throw new RangeError(`protobuf: field ${field.number} is not valid UTF-8`, { cause: error });
  }
}

export function fieldBytes(field: ProtobufField): Uint8Array {
  expectWire(field, WireType.lengthDelimited);
  return field.payload;
}

export function fieldFloat(field: ProtobufField): number {
  expectWire(field, WireType.fixed32);
  return new DataView(field.payload.buffer, field.payload.byteOffset, 4).getFloat32(0, true);
}

/** A repeated varint field, packed (one record) or not (one record per value). */
export function repeatedInts(field: ProtobufField): number[] {
  if (field.wireType === WireType.varint) return [fieldInt(field)];
  expectWire(field, WireType.lengthDelimited);
  const values: number[] = [];
  for (let at = 0; at < field.payload.length;) {
    const [value, next] = readVarint(field.payload, at);
    values.push(fieldInt({ ...field, wireType: WireType.varint, varint: value }));
    at = next;
  }
  return values;
}

/** A repeated float field, packed or not. */
export function repeatedFloats(field: ProtobufField): number[] {
  if (field.wireType === WireType.fixed32) return [fieldFloat(field)];
  expectWire(field, WireType.lengthDelimited);
  if (field.payload.length % 4 !== 0)
    throw new RangeError(`protobuf: packed floats of field ${field.number}`);
  const view = new DataView(field.payload.buffer, field.payload.byteOffset, field.payload.length);
  return Array.from({ length: field.payload.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function expectWire(field: ProtobufField, wireType: WireTypeNumber): void {
  if (field.wireType !== wireType) {
    throw new RangeError(
      `protobuf: field ${field.number} has wire type ${field.wireType}, expected ${wireType}`,
    );
  }
}

function take(bytes: Uint8Array, at: number, length: number): Uint8Array {
  if (at + length > bytes.length) throw new RangeError(`protobuf: truncated at byte ${at}`);
  return bytes.subarray(at, at + length);
}

function readVarint(bytes: Uint8Array, at: number): [bigint, number] {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (at >= bytes.length) throw new RangeError(`protobuf: truncated varint at byte ${at}`);
    const byte = bytes[at++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [BigInt.asUintN(64, result), at];
  }
  throw new RangeError(`protobuf: varint longer than 10 bytes at byte ${at}`);
}
