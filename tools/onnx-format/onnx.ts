/**
 * The ONNX protobuf messages, from the `onnx-proto` package: protobufjs code generated from onnx/onnx.proto
 * of ONNX 1.10.2 (IR 8). `onnx.ModelProto.encode(model).finish()` writes a model, `.decode(bytes)` reads
 * one. Values in newer files that this schema lacks still pass: enum fields decode as plain numbers (a
 * newer data type such as INT4 arrives as 22), and onnx-edit.ts copies unknown fields byte-for-byte.
 *
 * Repeated scalars (dims, ints) are written packed, as in onnx.proto3; protobuf parsers, ONNX Runtime's
 * included, read the packed and the unpacked form alike.
 *
 * int64 fields decode as `Long` objects (protobufjs with the `long` package); `int64ToNumber` turns them
 * into numbers where the code does arithmetic on them.
 */
import onnxProto from 'onnx-proto';

export import onnx = onnxProto.onnx;

/** TensorProto.DataType values newer than the schema's enum (ONNX 1.14 to 1.18), for messages. */
const NEWER_DATA_TYPES: Record<number, string> = {
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

/** `float`, `float16`, `int4`, … or `type N` for a number no schema here names. */
export function dataTypeName(dataType: number): string {
  const name = (onnx.TensorProto.DataType as unknown as Record<number, string | undefined>)[dataType];
  return name?.toLowerCase() ?? NEWER_DATA_TYPES[dataType] ?? `type ${dataType}`;
}

/** An int64 field's value as a number; RangeError beyond ±2^53, where a number would round. */
export function int64ToNumber(value: number | { toNumber(): number } | null | undefined): number {
  const n = value === null || value === undefined ? 0 : typeof value === 'number' ? value : value.toNumber();
  if (!Number.isSafeInteger(n)) throw new RangeError(`int64 value ${String(value)} is not a safe integer`);
  return n;
}
