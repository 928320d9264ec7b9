/**
 * Protocol Buffers wire-format writer: just enough to serialize ONNX messages, with no schema or codegen.
 * Nested messages are collected as chunk lists and joined once in `finish()`, so a large initializer's
 * bytes are copied exactly once however deep it sits. The same calls in the same order give the same bytes.
 */

/** Wire types from the protobuf encoding spec; a reader dispatches on the same numbers. */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  fixed32: 5,
} as const;

export type WireTypeNumber = (typeof WireType)[keyof typeof WireType];

const MAX_FIELD_NUMBER = 536_870_911;
const textEncoder = new TextEncoder();

export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private scratch = new Uint8Array(64);
  private scratchUsed = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.size + this.scratchUsed;
  }

  /** int32, int64, uint64, enum and bool fields. Negative numbers take ten bytes (two's complement). */
  int64(field: number, value: number | bigint): this {
    this.tag(field, WireType.varint);
    this.varint(value);
    return this;
  }

  bool(field: number, value: boolean): this {
    return this.int64(field, value ? 1 : 0);
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    this.float32LE(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** The bytes are referenced, not copied, until `finish()`: do not change them before that. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited);
    this.varint(value.length);
    this.append(value);
    return this;
  }

  /** Pre-encoded fields (tag and payload), copied through as they are: for re-encoding decoded messages. */
  raw(records: Uint8Array): this {
    this.append(records);
    return this;
  }

  /** A nested message: `write` fills a child writer whose output becomes this field's payload. */
  message(field: number, write: (child: ProtobufWriter) => void): this {
    const child = new ProtobufWriter();
    write(child);
    child.flushScratch();
    this.tag(field, WireType.lengthDelimited);
    this.varint(child.size);
    this.flushScratch();
    for (const chunk of child.chunks) this.pushChunk(chunk);
    return this;
  }

  /** A packed repeated varint field (one length-delimited record). Writes nothing for an empty list. */
  packedInt64(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const child = new ProtobufWriter();
    for (const value of values) child.varint(value);
    return this.bytes(field, child.finish());
  }

  /** A packed repeated float field. Writes nothing for an empty list. */
  packedFloat(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const payload = new Uint8Array(values.length * 4);
    const view = new DataView(payload.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, payload);
  }

  finish(): Uint8Array {
    this.flushScratch();
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private tag(field: number, wireType: WireTypeNumber): void {
    if (!Number.isInteger(field) || field < 1 || field > MAX_FIELD_NUMBER) {
      throw new RangeError(`protobuf field number out of range: ${field}`);
    }
    this.varint(field * 8 + wireType);
  }

  private varint(value: number | bigint): void {
    this.reserve(10);
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      let n = value;
      while (n >= 0x80) {
        this.scratch[this.scratchUsed++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      this.scratch[this.scratchUsed++] = n;
      return;
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`protobuf varint must be a safe integer or a bigint: ${value}`);
    }
    let big = BigInt.asUintN(64, BigInt(value));
    while (big >= 0x80n) {
      this.scratch[this.scratchUsed++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.scratch[this.scratchUsed++] = Number(big);
  }

  private float32LE(value: number): void {
    this.reserve(4);
    new DataView(this.scratch.buffer).setFloat32(this.scratchUsed, value, true);
    this.scratchUsed += 4;
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length <= 32) {
      this.reserve(bytes.length);
      this.scratch.set(bytes, this.scratchUsed);
      this.scratchUsed += bytes.length;
      return;
    }
    this.flushScratch();
    this.pushChunk(bytes);
  }

  private reserve(bytes: number): void {
    if (this.scratchUsed + bytes > this.scratch.length) this.flushScratch();
  }

  private flushScratch(): void {
    if (this.scratchUsed === 0) return;
    this.pushChunk(this.scratch.slice(0, this.scratchUsed));
    this.scratch = new Uint8Array(64);
    this.scratchUsed = 0;
  }

  private pushChunk(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
}
