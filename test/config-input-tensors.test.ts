import t from 'tap';
import { configFromObject } from '../config/load-config.js';
import { configDocument, configPipeline } from './helpers/config-document.js';
import { configProblems } from './helpers/config-problems.js';

const load = (pipeline: Record<string, unknown>) =>
  configFromObject(configDocument({ pipelines: [configPipeline(pipeline)] }), { env: {} });
const problemsOf = (pipeline: Record<string, unknown>) => configProblems(() => load(pipeline));

t.test('tensor fields and input.tensors load', async (t) => {
  const single = load({ input: { fields: ['rpm', { path: 'features', shape: [4, 8] }] } });
  t.same(single.pipelines[0]!.input, {
    tensor: null,
    fields: [
      { kind: 'number', path: 'rpm', default: null },
      { kind: 'tensor', path: 'features', shape: [4, 8] },
    ],
  });
  const multi = load({
    input: {
      tensors: [
        { tensor: 'image', fields: [{ path: 'image', shape: [1, 64, 64] }] },
        { tensor: 'meta', fields: ['temperature', { path: 'line', oneHot: ['a', 'b'] }] },
      ],
    },
  });
  t.same(multi.pipelines[0]!.input?.tensors, [
    { tensor: 'image', fields: [{ kind: 'tensor', path: 'image', shape: [1, 64, 64] }] },
    {
      tensor: 'meta',
      fields: [
        { kind: 'number', path: 'temperature', default: null },
        { kind: 'oneHot', path: 'line', values: ['a', 'b'], default: null },
      ],
    },
  ]);
});

t.test('bad tensor mappings are reported with their path', async (t) => {
  const problems = problemsOf({
    input: {
      fields: [
        { path: 'a', shape: [] },
        { path: 'b', shape: [0, 2] },
        { path: 'c', shape: [2.5] },
        { path: 'd', shape: [4096, 4096] },
        { path: 'e', shape: [2], default: 0 },
        { path: 'f', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] },
      ],
    },
  });
  const at = (path: string) => problems.find((p) => p.path === path)?.message;
  t.match(at('pipelines[0].input.fields[0].shape'), /1 to 8 positive integers/);
  t.match(at('pipelines[0].input.fields[1].shape'), /positive integers/);
  t.match(at('pipelines[0].input.fields[2].shape'), /positive integers/);
  t.match(at('pipelines[0].input.fields[3].shape'), /at most 4194304 values, got 16777216/);
  t.match(at('pipelines[0].input.fields[4].default'), /must not be given together with shape/);
  t.match(at('pipelines[0].input.fields[5].shape'), /1 to 8 positive integers/);

  const multi = problemsOf({
    input: {
      tensors: [{ fields: ['a'] }, { tensor: 'x', fields: ['b'] }, { tensor: 'x', fields: ['c'] }],
    },
  });
  t.ok(multi.some((p) => p.path === 'pipelines[0].input.tensors[0].tensor' && /is required/.test(p.message)));
  t.ok(multi.some((p) => p.path === 'pipelines[0].input.tensors[2].tensor' && /twice/.test(p.message)));
  t.ok(
    problemsOf({ input: { tensors: [], fields: ['a'] } }).some(
      (p) => p.path === 'pipelines[0].input.fields' && /unknown key/.test(p.message),
    ),
    'tensors and fields do not mix',
  );
  t.ok(
    problemsOf({ input: { tensors: [] } }).some((p) => p.path === 'pipelines[0].input.tensors'),
    'an empty tensors list',
  );
});

t.test('decoder: tensor needs tensor: { dtype, shape }; maxPayloadBytes per pipeline', async (t) => {
  const config = load({
    decoder: 'tensor',
    tensor: { dtype: 'int16', shape: [3, 256] },
    maxPayloadBytes: 4_000_000,
    input: { fields: [{ path: 'payload', shape: [3, 256] }] },
  });
  t.same(config.pipelines[0]!.tensor, { dtype: 'int16', shape: [3, 256] });
  t.equal(config.pipelines[0]!.decoder, 'tensor');
  t.equal(config.pipelines[0]!.maxPayloadBytes, 4_000_000, 'above limits.maxPayloadBytes');
  t.equal(load({}).pipelines[0]!.tensor, null, 'null when not given');
  t.equal(load({}).pipelines[0]!.maxPayloadBytes, null, 'null when not given');

  const at = (pipeline: Record<string, unknown>, path: string) =>
    problemsOf(pipeline).find((p) => p.path === path)?.message;
  t.match(at({ decoder: 'tensor' }, 'pipelines[0].tensor'), /is required with decoder: tensor/);
  t.match(
    at({ tensor: { dtype: 'float32', shape: [4] } }, 'pipelines[0].tensor'),
    /only read with decoder: tensor/,
  );
  t.match(
    at({ decoder: 'tensor', tensor: { dtype: 'float64', shape: [4] } }, 'pipelines[0].tensor.dtype'),
    /float32 or int16/,
  );
  t.match(
    at({ decoder: 'tensor', tensor: { dtype: 'float32', shape: 4 } }, 'pipelines[0].tensor.shape'),
    /positive integers/,
  );
  t.match(
    at(
      { decoder: 'tensor', tensor: { dtype: 'float32', shape: [4], order: 'le' } },
      'pipelines[0].tensor.order',
    ),
    /unknown key/,
  );
  t.match(at({ maxPayloadBytes: 0 }, 'pipelines[0].maxPayloadBytes'), /integer between 1 and 67108864/);
  t.match(at({ decoder: 'csv' }, 'pipelines[0].decoder'), /json, sparkplug, tensor/);
});
