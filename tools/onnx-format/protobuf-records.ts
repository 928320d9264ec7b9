/**
 * A message's top-level fields as byte ranges, read with protobufjs's wire-format Reader. Generated
 * decoders drop fields their schema does not know; keeping each field's exact bytes lets onnx-edit.ts
 * write a model back with everything it does not edit as it was, fields newer than the schema included.
 */
import protobuf from 'protobufjs/minimal.js';

/** protobuf wire type 2: strings, bytes, embedded messages, packed repeated scalars. */
const LENGTH_DELIMITED = 2;

export interface ProtobufRecord {
  number: number;
  /** Tag and value, exactly as in the input. */
  record: Uint8Array;
  /** A length-delimited field's contents; empty for the other wire types. */
  payload: Uint8Array;
}

/** RangeError (from the Reader) or Error on malformed input. */
export function readRecords(bytes: Uint8Array): ProtobufRecord[] {
  const reader = protobuf.Reader.create(bytes);
  const records: ProtobufRecord[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const number = tag >>> 3;
    if (number === 0) throw new RangeError(`protobuf: invalid field number at byte ${start}`);
    let payload = bytes.subarray(start, start);
    if ((tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const at = reader.pos;
      reader.skip(length);
      payload = bytes.subarray(at, at + length);
    } else {
      reader.skipType(tag & 7);
    }
    records.push({ number, record: bytes.subarray(start, reader.pos), payload });
  }
  return records;
}

/** A length-delimited field `number` holding `payload` (an encoded message, usually). */
export function lengthDelimitedRecord(number: number, payload: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((number << 3) | LENGTH_DELIMITED)
    .bytes(payload)
    .finish();
}
