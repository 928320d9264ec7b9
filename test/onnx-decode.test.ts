import t from 'tap';
import { decodeModel, tensorFloats } from '../tools/onnx-format/onnx-decode.js';
import { emptyEdits, encodeEditedModel, withInputs } from '../tools/onnx-format/onnx-edit.js';
import { encodeModel } from '../tools/onnx-format/onnx-proto.js';
import { fieldFloat, fieldInt, readFields, repeatedInts } from '../tools/onnx-format/protobuf-reader.js';
import { ProtobufWriter } from '../tools/onnx-format/protobuf-writer.js';
import { ErrorCodes } from '../daemon/errors.js';
import { mixedModel } from './helpers/quantize-fixtures.js';

t.test('the reader splits what the writer wrote, keeping each record', async (t) => {
  const bytes = new ProtobufWriter()
    .int64(1, 150)
    .int64(2, -1)
    .float(3, 1.5)
    .string(4, 'hi')
    .packedInt64(5, [3, 270])
    .int64(5, 7)
    .finish();
  const fields = readFields(bytes);
  t.same(
    fields.map((f) => f.number),
    [1, 2, 3, 4, 5, 5],
  );
  t.equal(fieldInt(fields[0]!), 150);
  t.equal(fieldInt(fields[1]!), -1, 'negative int64 comes back negative');
  t.equal(fieldFloat(fields[2]!), 1.5);
  t.same(repeatedInts(fields[4]!), [3, 270], 'packed');
  t.same(repeatedInts(fields[5]!), [7], 'unpacked');
  t.same(Buffer.concat(fields.map((f) => f.record)), Buffer.from(bytes), 'records cover the input exactly');
  t.throws(() => readFields(Uint8Array.from([0x0a, 0x05, 0x01])), RangeError, 'truncated payload');
  t.throws(() => readFields(Uint8Array.from([0x08, 0x80])), RangeError, 'truncated varint');
  t.throws(() => readFields(Uint8Array.from([0x0b])), RangeError, 'group wire type');
});

t.test('an encoded model decodes to what was encoded', async (t) => {
  const spec = mixedModel();
  const model = decodeModel(encodeModel(spec));
  t.equal(model.irVersion, 8);
  t.same(model.opsetImports, [{ domain: '', version: 17 }]);
  t.same(model.metadataProps, [{ key: 'author', value: 'fixture' }]);
  t.equal(model.graph.name, 'mixed');
  t.same(
    model.graph.nodes.map((n) => n.opType),
    spec.graph.nodes.map((n) => n.opType),
  );
  const gemm = model.graph.nodes[0]!;
  t.same(gemm.inputs, ['x', 'W1', 'C1']);
  t.same(
    gemm.attributes.map((a) => [a.name, a.i ?? a.f]),
    [
      ['transB', 1],
      ['alpha', 0.5],
      ['beta', 2],
    ],
  );
  const w1 = model.graph.initializers.find((i) => i.name === 'W1')!;
  t.same(w1.dims, [40, 24]);
  const raw = spec.graph.initializers[0]!.rawData!;
  t.same(Array.from(tensorFloats(w1)), Array.from(new Float32Array(raw.slice().buffer)));
  t.same(
    model.graph.inputs.map((i) => i.name),
    ['x'],
  );
});

t.test('re-encoding without edits gives the same bytes; edits keep the other fields', async (t) => {
  const bytes = encodeModel(mixedModel());
  const model = decodeModel(bytes);
  t.ok(Buffer.from(encodeEditedModel(model, emptyEdits())).equals(Buffer.from(bytes)), 'identical bytes');

  const edits = emptyEdits();
  edits.replaceNodes.set(1, [withInputs(model.graph.nodes[1]!, ['g1'])]);
  edits.metadata.push({ key: 'author', value: 'changed' }, { key: 'new', value: 'entry' });
  edits.addOpsets.push({ domain: 'com.microsoft', version: 1 });
  const edited = decodeModel(encodeEditedModel(model, edits));
  t.same(edited.metadataProps, [
    { key: 'author', value: 'changed' },
    { key: 'new', value: 'entry' },
  ]);
  t.same(edited.opsetImports, [
    { domain: '', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ]);
  t.same(
    edited.graph.nodes.map((n) => Buffer.from(n.payload).toString('hex')),
    model.graph.nodes.map((n) => Buffer.from(n.payload).toString('hex')),
    'a node rewritten with its own inputs is byte-identical',
  );
});

t.test('bytes that are not an ONNX model are IG_ERR_ONNX_DECODE', async (t) => {
  t.throws(() => decodeModel(new TextEncoder().encode('this is not a protobuf')), {
    code: ErrorCodes.ONNX_DECODE,
  });
  t.throws(() => decodeModel(new ProtobufWriter().int64(1, 8).finish()), {
    code: ErrorCodes.ONNX_DECODE,
    message: /no ir_version or no graph/,
  });
});
