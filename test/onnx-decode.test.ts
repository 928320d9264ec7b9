import t from 'tap';
import { decodeModel, tensorFloats } from '../tools/onnx-format/onnx-decode.js';
import { emptyEdits, encodeEditedModel, withInputs } from '../tools/onnx-format/onnx-edit.js';
import { onnx } from '../tools/onnx-format/onnx.js';
import { lengthDelimitedRecord, readRecords } from '../tools/onnx-format/protobuf-records.js';
import { QUANTIZE_DEFAULTS, quantizeModel } from '../tools/quantize/quantize-model.js';
import { ErrorCodes } from '../daemon/errors.js';
import { mixedModel } from './helpers/quantize-fixtures.js';

t.test('the record reader splits a message into its exact fields, unknown ones included', async (t) => {
  const bytes = onnx.NodeProto.encode({ input: ['a', 'b'], name: 'n', opType: 'Add' }).finish();
  // Field 99 (varint 1) is in no schema; the generated decoder skips it, the records keep it.
  const withUnknown = Buffer.concat([bytes, Uint8Array.from([0x98, 0x06, 0x01])]);
  const records = readRecords(withUnknown);
  t.same(
    records.map((r) => r.number),
    [1, 1, 3, 4, 99],
  );
  t.equal(Buffer.from(records[0]!.payload).toString(), 'a');
  t.same(Buffer.concat(records.map((r) => r.record)), withUnknown, 'records cover the input exactly');
  t.throws(() => readRecords(Uint8Array.from([0x0a, 0x05, 0x01])), RangeError, 'truncated payload');
  t.throws(() => readRecords(Uint8Array.from([0x08, 0x80])), RangeError, 'truncated varint');
});

t.test('an encoded model decodes to what was encoded', async (t) => {
  const spec = mixedModel();
  const model = decodeModel(onnx.ModelProto.encode(spec).finish());
  t.equal(model.irVersion, 8);
  t.same(model.opsetImports, [{ domain: '', version: 17 }]);
  t.same(model.metadataProps, [{ key: 'author', value: 'fixture' }]);
  t.equal(model.graph.name, 'mixed');
  t.same(
    model.graph.nodes.map((n) => n.opType),
    spec.graph!.node!.map((n) => n.opType),
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
  const raw = spec.graph!.initializer![0]!.rawData!;
  t.same(Array.from(tensorFloats(w1)), Array.from(new Float32Array(raw.slice().buffer)));
  t.same(
    model.graph.inputs.map((i) => i.name),
    ['x'],
  );
});

t.test('re-encoding without edits gives the same bytes; edits keep the other fields', async (t) => {
  const bytes = onnx.ModelProto.encode(mixedModel()).finish();
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

t.test('fields newer than the schema survive quantization where the model is not rewritten', async (t) => {
  // NodeProto.metadata_props (9) and ModelProto.configuration (26) came after ONNX 1.10.2.
  const entry = onnx.StringStringEntryProto.encode({ key: 'origin', value: 'exporter' }).finish();
  const nodeExtra = lengthDelimitedRecord(9, entry);
  const modelExtra = lengthDelimitedRecord(26, Uint8Array.from([0x0a, 0x01, 0x64]));
  const base = decodeModel(onnx.ModelProto.encode(mixedModel()).finish());
  const softmax = base.graph.nodes.findIndex((n) => n.name === 'softmax');
  const edits = emptyEdits();
  edits.replaceNodes.set(softmax, [Buffer.concat([base.graph.nodes[softmax]!.payload, nodeExtra])]);
  const bytes = Buffer.concat([encodeEditedModel(base, edits), modelExtra]);

  const out = decodeModel(quantizeModel(bytes, { ...QUANTIZE_DEFAULTS, bits: 4 }).bytes);
  const node = out.graph.nodes.find((n) => n.name === 'softmax')!;
  t.ok(Buffer.from(node.payload).includes(Buffer.from(nodeExtra)), 'node field kept');
  t.same(
    out.fields.filter((f) => f.number === 26).map((f) => Buffer.from(f.record).toString('hex')),
    [Buffer.from(modelExtra).toString('hex')],
    'model field kept',
  );
});

t.test('bytes that are not an ONNX model are IG_ERR_ONNX_DECODE', async (t) => {
  t.throws(() => decodeModel(new TextEncoder().encode('this is not a protobuf')), {
    code: ErrorCodes.ONNX_DECODE,
  });
  t.throws(() => decodeModel(onnx.ModelProto.encode({ irVersion: 8 }).finish()), {
    code: ErrorCodes.ONNX_DECODE,
    message: /no ir_version or no graph/,
  });
});
