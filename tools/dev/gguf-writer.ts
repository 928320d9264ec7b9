/**
 * GGUF v3 writer: header, metadata key/values, tensor infos, then the tensor data, each tensor aligned. Tensor
 * data is streamed from generators straight to the file, so a 1 GB model never sits in memory; the sha256 is
 * computed on the way. Layout (ggml's gguf.cpp): magic "GGUF", u32 version, u64 tensor count, u64 kv count,
 * the key/values, the tensor infos (name, dims with ne0 first, ggml type, offset into the data section), zero
 * padding up to `general.alignment`, then the data section where every tensor starts at an aligned offset.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** GGUF metadata value types (gguf.h `gguf_type`). */
const ValueType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

type ScalarTypeName = Exclude<keyof typeof ValueType, 'array' | 'string'>;

export type GgufValue =
  | { type: ScalarTypeName; value: number | bigint | boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; items: ScalarTypeName | 'string'; values: readonly (number | boolean | string)[] };

/** Builders for metadata values, so call sites read as `gguf.u32(2048)`. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (values: readonly string[]): GgufValue => ({ type: 'array', items: 'string', values }),
  i32s: (values: readonly number[]): GgufValue => ({ type: 'array', items: 'i32', values }),
  f32s: (values: readonly number[]): GgufValue => ({ type: 'array', items: 'f32', values }),
};

/** ggml tensor types this writer knows the byte size of (ggml.h `ggml_type`). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Q4_0: blocks of 32 weights, an fp16 scale and 16 bytes of nibbles. */
export const Q4_0_BLOCK_WEIGHTS = 32;
export const Q4_0_BLOCK_BYTES = 18;

export interface GgufTensor {
  name: string;
  /** ggml order: ne0 (the contiguous row length) first. */
  dims: readonly number[];
  type: GgmlTypeName;
  /** The tensor's bytes in order; the chunks must add up to `tensorBytes(dims, type)` exactly. */
  data(): Iterable<Uint8Array>;
}

export interface GgufFile {
  metadata: ReadonlyArray<readonly [key: string, value: GgufValue]>;
  tensors: readonly GgufTensor[];
}

export interface WrittenGguf {
  bytes: number;
  sha256: string;
}

const DEFAULT_ALIGNMENT = 32;
const textEncoder = new TextEncoder();
/** Header and metadata are buffered up to this size before they are written. */
const FLUSH_BYTES = 1 << 20;

export function tensorBytes(dims: readonly number[], type: GgmlTypeName): number {
  const elements = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'F32':
      return elements * 4;
    case 'F16':
      return elements * 2;
    case 'Q4_0':
      if (dims[0]! % Q4_0_BLOCK_WEIGHTS !== 0) {
        throw new RangeError(`Q4_0 rows must be a multiple of ${Q4_0_BLOCK_WEIGHTS} (ne0 = ${dims[0]})`);
      }
      return (elements / Q4_0_BLOCK_WEIGHTS) * Q4_0_BLOCK_BYTES;
  }
}

/** Writes `file` (replacing it) and returns its size and sha256. */
export async function writeGguf(path: string, model: GgufFile): Promise<WrittenGguf> {
  const alignmentEntry = model.metadata.find(([key]) => key === 'general.alignment');
  const alignment =
    alignmentEntry !== undefined && alignmentEntry[1].type === 'u32'
      ? Number(alignmentEntry[1].value)
      : DEFAULT_ALIGNMENT;
  const sink = new HeaderBuffer();
  sink.raw(textEncoder.encode('GGUF'));
  sink.u32(3);
  sink.u64(model.tensors.length);
  sink.u64(model.metadata.length);
  for (const [key, value] of model.metadata) {
    sink.string(key);
    writeValue(sink, value);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const tensor of model.tensors) {
    const size = tensorBytes(tensor.dims, tensor.type);
    sizes.push(size);
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64(dim);
    sink.u32(GgmlType[tensor.type]);
    sink.u64(offset);
    offset += padded(size, alignment);
  }
  sink.raw(new Uint8Array(padded(sink.length, alignment) - sink.length));

  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  let written = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    hash.update(bytes);
    written += bytes.length;
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
  };
  try {
    for (const chunk of sink.chunks()) await write(chunk);
    for (const [index, tensor] of model.tensors.entries()) {
      let produced = 0;
      for (const chunk of tensor.data()) {
        produced += chunk.length;
        await write(chunk);
      }
      if (produced !== sizes[index]) {
        throw new RangeError(`tensor ${tensor.name}: produced ${produced} bytes, expected ${sizes[index]}`);
      }
      await write(new Uint8Array(padded(produced, alignment) - produced));
    }
  } finally {
    await handle.close();
  }
  return { bytes: written, sha256: hash.digest('hex') };
}

function padded(size: number, alignment: number): number {
  return Math.ceil(size / alignment) * alignment;
}

function writeValue(sink: HeaderBuffer, value: GgufValue): void {
  sink.u32(ValueType[value.type]);
  if (value.type === 'string') sink.string(value.value);
  else if (value.type === 'array') {
    sink.u32(ValueType[value.items]);
    sink.u64(value.values.length);
    for (const item of value.values) {
      if (value.items === 'string') sink.string(item as string);
      else writeScalar(sink, value.items, item as number | boolean);
    }
  } else writeScalar(sink, value.type, value.value);
}

function writeScalar(sink: HeaderBuffer, type: ScalarTypeName, value: number | bigint | boolean): void {
  const view = sink.reserve(scalarBytes[type]);
  switch (type) {
    case 'u8':
      return view.setUint8(0, Number(value));
    case 'i8':
      return view.setInt8(0, Number(value));
    case 'u16':
      return view.setUint16(0, Number(value), true);
    case 'i16':
      return view.setInt16(0, Number(value), true);
    case 'u32':
      return view.setUint32(0, Number(value), true);
    case 'i32':
      return view.setInt32(0, Number(value), true);
    case 'f32':
      return view.setFloat32(0, Number(value), true);
    case 'bool':
      return view.setUint8(0, value === true ? 1 : 0);
    case 'u64':
      return view.setBigUint64(0, BigInt(value), true);
    case 'i64':
      return view.setBigInt64(0, BigInt(value), true);
    case 'f64':
      return view.setFloat64(0, Number(value), true);
  }
}

const scalarBytes: Record<ScalarTypeName, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** Little-endian byte sink for the header, in chunks of about FLUSH_BYTES. */
class HeaderBuffer {
  private readonly done: Uint8Array[] = [];
  private current = new Uint8Array(FLUSH_BYTES);
  private used = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  reserve(size: number): DataView {
    if (this.used + size > this.current.length) this.rotate(size);
    const view = new DataView(this.current.buffer, this.current.byteOffset + this.used, size);
    this.used += size;
    this.total += size;
    return view;
  }

  raw(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.current.length) this.rotate(bytes.length);
    this.current.set(bytes, this.used);
    this.used += bytes.length;
    this.total += bytes.length;
  }

  u32(value: number): void {
    this.reserve(4).setUint32(0, value, true);
  }

  u64(value: number): void {
    this.reserve(8).setBigUint64(0, BigInt(value), true);
  }

  string(value: string): void {
    const bytes = textEncoder.encode(value);
    this.u64(bytes.length);
    this.raw(bytes);
  }

  chunks(): Uint8Array[] {
    return [...this.done, this.current.subarray(0, this.used)];
  }

  private rotate(needed: number): void {
    this.done.push(this.current.subarray(0, this.used));
    this.current = new Uint8Array(Math.max(FLUSH_BYTES, needed));
    this.used = 0;
  }
}
