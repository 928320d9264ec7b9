/**
 * The bench's systems compute the same thing: for both event shapes the gateway's own input mapping (from the
 * config the bench generates), the bare loop's row builder and the Node-RED function's generated code build
 * the same model row, and decide the same. The Node-RED flow and settings are checked as data and the
 * function node's code is run with the real onnxruntime-node, without installing Node-RED (no network).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { parse } from 'yaml';
import { configFromObject } from '../config/load-config.js';
import { compileInputMapping } from '../daemon/input-mapping.js';
import { EVENT_SHAPES, eventShape } from '../bench/event-shape.js';
import { defaultNodeRedDir } from '../bench/nodered-install.js';
import { functionCode, noderedFlow, noderedSettings, onStartCode } from '../bench/nodered-flow.js';
import { repoRoot } from '../bench/repo-root.js';
import { decisionCode, rowCode, rowWidth, type YamlInputField } from '../bench/row-code.js';
import { gatewayConfigYaml, pipelineSections } from '../bench/systems-under-test.js';
import { WIDE_FEATURE_COUNT, WIDE_FIELDS } from '../bench/wide-event.js';
import { buildWideModel, writeWideModel } from '../bench/wide-model.js';

const EVENTS = 400;

for (const name of EVENT_SHAPES) {
  t.test(`${name} events: gateway mapping, bare loop and Node-RED code build the same row`, async (t) => {
    const shape = eventShape(name);
    const yaml = gatewayConfigYaml({
      repoRoot,
      brokerUrl: 'mqtt://127.0.0.1:1883',
      modelPath: '/bench/model.onnx',
      stateDir: '/bench/state',
      budgetMs: 300,
      shape,
    });
    const config = configFromObject(parse(yaml));
    t.equal(config.pipelines.length, 1, 'one pipeline');
    const pipeline = config.pipelines[0];
    t.equal(pipeline.subscribe, `${shape.gatewayTopicPrefix}/+/tx`, 'subscribes to its own topics');
    const gateway = compileInputMapping(pipeline.input!);
    t.equal(gateway.width, shape.featureCount, 'row width');

    const fields = pipelineSections(shape, repoRoot).input.fields as YamlInputField[];
    t.equal(rowWidth(fields), shape.featureCount, 'generated code row width');
    const nodeRed = new Function('e', 'row', rowCode(fields)) as (e: unknown, row: number[]) => void;

    const next = shape.generator(7, 50);
    const fromGateway = new Float32Array(shape.featureCount);
    const fromBare = new Float32Array(shape.featureCount);
    let mismatches = 0;
    for (let i = 0; i < EVENTS; i++) {
      // As each system sees it: the JSON text parsed again.
      const event = JSON.parse(JSON.stringify(next(`e${i}`).body)) as Record<string, unknown>;
      gateway.fill(event, fromGateway, 0);
      shape.features(event, fromBare);
      const fromFlow = new Array<number>(shape.featureCount);
      nodeRed(event, fromFlow);
      for (let c = 0; c < shape.featureCount; c++) {
        if (fromGateway[c] !== fromBare[c] || Math.fround(fromFlow[c]) !== fromGateway[c]) mismatches++;
      }
    }
    t.equal(mismatches, 0, `${EVENTS} events, every value equal`);

    const decide = pipelineSections(shape, repoRoot).decide;
    const decideFlow = new Function('out', `return ${decisionCode(decide)};`) as (out: number[]) => string;
    t.equal(pipeline.decide.kind, 'threshold', 'threshold rule');
    for (let score = 0; score <= 1; score += 0.01) {
      if (decideFlow([score]) !== shape.decision(score)) t.fail(`decision at ${score}`);
    }
  });
}

t.test('the wide event is about 1 KB with 32 numeric fields, and the model is deterministic', async (t) => {
  t.equal(WIDE_FIELDS.length, WIDE_FEATURE_COUNT);
  const next = eventShape('wide').generator(1, 200);
  let bytes = 0;
  for (let i = 0; i < 100; i++) bytes += JSON.stringify(next(`gateway-1000-1234-abcdefgh-${i}`).body).length;
  t.ok(bytes / 100 > 850 && bytes / 100 < 1200, `mean ${bytes / 100} bytes`);
  t.same(buildWideModel(), buildWideModel(), 'same bytes on every build');
});

t.test(
  'the Node-RED flow: mqtt in (QoS 1, MQTT 5, JSON) → function (onnxruntime-node) → mqtt out',
  async (t) => {
    const shape = eventShape('wide');
    const sections = pipelineSections(shape, repoRoot);
    const flow = noderedFlow({
      brokerUrl: 'mqtt://127.0.0.1:41234',
      subscribe: 'nodered/+/tx',
      modelPath: '/m.onnx',
      inputFields: sections.input.fields as YamlInputField[],
      decide: sections.decide,
    }) as Record<string, unknown>[];
    const byType = (type: string): Record<string, unknown> => flow.find((n) => n.type === type)!;
    const broker = byType('mqtt-broker');
    t.match(broker, { broker: '127.0.0.1', port: '41234', protocolVersion: '5' }, 'broker node');
    const input = byType('mqtt in');
    t.match(input, { topic: 'nodered/+/tx', qos: '1', datatype: 'json', broker: broker.id }, 'mqtt in');
    const fn = byType('function');
    t.same(fn.libs, [{ var: 'ort', module: 'onnxruntime-node' }], 'onnxruntime-node through libs');
    const output = byType('mqtt out');
    t.match(output, { topic: '', qos: '1', broker: broker.id }, 'mqtt out: the topic comes from the message');
    t.same(input.wires, [[fn.id]], 'in → function');
    t.same(fn.wires, [[output.id]], 'function → out');
    const ids = flow.map((n) => n.id);
    t.equal(new Set(ids).size, ids.length, 'unique node ids');
  },
);

t.test('the function node answers like the bare loop, with the real runtime', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-peers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const modelPath = writeWideModel(dir);
  const shape = eventShape('wide');
  const sections = pipelineSections(shape, repoRoot);
  const ort = await import('onnxruntime-node');
  const store = new Map<string, unknown>();
  const context = { get: (k: string) => store.get(k), set: (k: string, v: unknown) => store.set(k, v) };
  // Node-RED wraps both in an async function of these names (its function node, 10-function.js).
  const AsyncFunction = (async () => undefined).constructor as new (
    ...args: string[]
  ) => (...args: unknown[]) => Promise<unknown>;
  await new AsyncFunction('ort', 'context', onStartCode(modelPath))(ort, context);
  const onMessage = new AsyncFunction(
    'msg',
    'ort',
    'context',
    functionCode(sections.input.fields as YamlInputField[], sections.decide),
  );
  const session = store.get('session') as import('onnxruntime-node').InferenceSession;
  t.teardown(() => session.release());

  const next = shape.generator(3, 10);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { id, body } = next(`p${i}`);
    const correlationData = Buffer.from(id);
    const reply = (await onMessage(
      { payload: JSON.parse(JSON.stringify(body)), responseTopic: 'bench/reply/nodered', correlationData },
      ort,
      context,
    )) as { payload: string; qos: number; responseTopic: string; correlationData: Buffer; topic?: string };
    const row = shape.features(body, new Float32Array(shape.featureCount));
    const result = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', row, [1, shape.featureCount]),
    });
    const score = Number((result[session.outputNames[0]].data as Float32Array)[0]);
    const answer = JSON.parse(reply.payload) as { id: string; decision: string; score: number };
    seen.add(answer.decision);
    if (answer.id !== id || answer.decision !== shape.decision(score) || answer.score !== score) {
      t.fail(`event ${i}: ${reply.payload} vs score ${score}`);
    }
    if (
      reply.qos !== 1 ||
      reply.responseTopic !== 'bench/reply/nodered' ||
      reply.correlationData !== correlationData
    )
      t.fail(`event ${i}: reply target`);
    if (reply.topic !== undefined) t.fail('no topic: mqtt out publishes to the Response Topic');
  }
  t.ok(seen.has('accept') && seen.has('reject'), `decisions vary (${[...seen].join(', ')})`);
});

t.test('Node-RED settings: headless, no installs, no-delay unless asked', async (t) => {
  const load = (text: string): { settings: Record<string, unknown>; patched: boolean } => {
    const proto = { connect: (): void => undefined };
    const net = { Socket: { prototype: proto } };
    const module = { exports: {} as Record<string, unknown> };
    runInNewContext(text, { module, require: () => net });
    return { settings: module.exports, patched: proto.connect.name !== 'connect' };
  };
  const on = load(noderedSettings({ userDir: '/u', flowFile: '/u/flows.json', nagle: false }));
  t.match(
    on.settings,
    {
      userDir: '/u',
      flowFile: '/u/flows.json',
      httpAdminRoot: false,
      httpNodeRoot: false,
      functionExternalModules: true,
      externalModules: { modules: { allowInstall: false } },
      telemetry: { enabled: false },
    },
    'settings',
  );
  t.ok(on.patched, 'TCP no-delay patch in place');
  t.notOk(
    load(noderedSettings({ userDir: '/u', flowFile: '/f', nagle: true })).patched,
    'stock with --nodered-nagle',
  );

  t.equal(
    defaultNodeRedDir({ XDG_CACHE_HOME: '/c' }),
    join('/c', 'infergate-bench', 'nodered'),
    'cache under XDG_CACHE_HOME',
  );
});
