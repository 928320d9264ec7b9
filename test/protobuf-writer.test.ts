import t from 'tap';
import { ProtobufWriter } from '../tools/onnx-format/protobuf-writer.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

t.test('varints, including 64-bit and negative values', async (t) => {
  t.equal(hex(new ProtobufWriter().int64(1, 150).finish()), '089601');
  t.equal(hex(new ProtobufWriter().int64(1, 0).finish()), '0800');
  t.equal(hex(new ProtobufWriter().int64(2, 2 ** 40).finish()), '10808080808020');
  t.equal(hex(new ProtobufWriter().int64(1, -1).finish()), '08ffffffffffffffffff01');
  t.equal(hex(new ProtobufWriter().int64(1, -2n).finish()), '08feffffffffffffffff01');
  t.throws(() => new ProtobufWriter().int64(1, 2 ** 60), RangeError, 'unsafe numbers need a bigint');
  t.throws(() => new ProtobufWriter().int64(0, 1), RangeError, 'field 0 is invalid');
});

t.test('fixed32 floats, strings, bytes and packed fields', async (t) => {
  t.equal(hex(new ProtobufWriter().float(2, 1).finish()), '150000803f');
  t.equal(hex(new ProtobufWriter().string(3, 'hi').finish()), '1a026869');
  t.equal(hex(new ProtobufWriter().packedInt64(4, [3, 270, 86942]).finish()), '2206038e029ea705');
  t.equal(hex(new ProtobufWriter().packedFloat(5, [1, -2]).finish()), '2a080000803f000000c0');
  t.equal(new ProtobufWriter().packedFloat(5, []).finish().length, 0, 'empty packed field is omitted');
});

t.test('nested messages get their exact length, large payloads included', async (t) => {
  const big = new Uint8Array(300).fill(7);
  const out = new ProtobufWriter()
    .int64(1, 1)
    .message(2, (m) => m.string(1, 'a').message(2, (inner) => inner.bytes(1, big)))
    .finish();
  // 08 01 | 12 <len> [ 0a 01 61 | 12 <len> [ 0a ac02 <300 bytes> ] ]
  const innerLength = 1 + 2 + 300;
  const outerLength = 3 + 1 + 2 + innerLength;
  t.equal(out.length, 2 + 1 + 2 + outerLength);
  t.equal(
    hex(out.subarray(0, 5)),
    `080112${((outerLength & 0x7f) | 0x80).toString(16)}${(outerLength >> 7).toString(16).padStart(2, '0')}`,
  );
  t.ok(Buffer.from(out.subarray(out.length - 300)).equals(Buffer.from(big)));
  const again = new ProtobufWriter()
    .int64(1, 1)
    .message(2, (m) => m.string(1, 'a').message(2, (inner) => inner.bytes(1, big)))
    .finish();
  t.ok(Buffer.from(out).equals(Buffer.from(again)), 'same calls, same bytes');
});
