/**
 * The Node-RED peer's flow and settings file. The flow does the bench's job the way a Node-RED user would
 * build it: `mqtt in` (QoS 1, MQTT 5, JSON payload) → `function` (onnxruntime-node loaded through the
 * node's `libs`, the session created once in On Start) → `mqtt out` (QoS 1) to the event's MQTT 5 Response
 * Topic with its Correlation Data. No inbox, no decision log, no deadlines, no fallbacks.
 *
 * Node-RED's mqtt nodes pass `msg.responseTopic` and `msg.correlationData` of an MQTT 5 message on, and
 * `mqtt out` publishes a message without `topic` to its `responseTopic`, with `correlationData` as the
 * property (@node-red/nodes core/network/10-mqtt.js).
 */
import { rowCode, rowWidth, decisionCode, type YamlInputField } from './row-code.js';

export interface NodeRedFlowOptions {
  brokerUrl: string;
  /** Subscription filter, `nodered/+/tx`. */
  subscribe: string;
  modelPath: string;
  /** The gateway pipeline's `input.fields` and `decide` for the event shape. */
  inputFields: readonly YamlInputField[];
  decide: unknown;
  clientId?: string;
}

export const NODERED_TAB_ID = 'infergate-bench';

/** Session options of the bare loop and the gateway: one intra-op thread, spinning off. */
const SESSION_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};

/** The function node's On Start: one session for the life of the flow. */
export function onStartCode(modelPath: string): string {
  return [
    `const session = await ort.InferenceSession.create(${JSON.stringify(modelPath)}, ${JSON.stringify(SESSION_OPTIONS)});`,
    "context.set('session', session);",
    "context.set('input', session.inputNames[0]);",
    "context.set('output', session.outputNames[0]);",
  ].join('\n');
}

/** The function node's body: row, inference, decision, reply to the Response Topic. */
export function functionCode(inputFields: readonly YamlInputField[], decide: unknown): string {
  const width = rowWidth(inputFields);
  return [
    'const e = msg.payload;',
    // A plain array: the function runs in its own V8 context, whose Float32Array is not the one
    // onnxruntime-node checks typed arrays against; the runtime converts a number array itself.
    `const row = new Array(${width});`,
    rowCode(inputFields, 'e', 'row'),
    "const session = context.get('session');",
    `const result = await session.run({ [context.get('input')]: new ort.Tensor('float32', row, [1, ${width}]) });`,
    "const out = result[context.get('output')].data;",
    `const decision = ${decisionCode(decide, 'out')};`,
    'return {',
    '  payload: JSON.stringify({ id: e.id, decision, score: out[0] }),',
    '  qos: 1,',
    '  responseTopic: msg.responseTopic,',
    '  correlationData: msg.correlationData,',
    '};',
  ].join('\n');
}

export function noderedFlow(options: NodeRedFlowOptions): object[] {
  const url = new URL(options.brokerUrl);
  return [
    { id: NODERED_TAB_ID, type: 'tab', label: 'infergate bench', disabled: false, info: '' },
    {
      id: 'bench-broker',
      type: 'mqtt-broker',
      name: 'bench broker',
      broker: url.hostname,
      port: url.port || '1883',
      clientid: options.clientId ?? 'bench-nodered',
      autoConnect: true,
      usetls: false,
      protocolVersion: '5',
      keepalive: '30',
      cleansession: true,
      autoUnsubscribe: true,
      birthTopic: '',
      closeTopic: '',
      willTopic: '',
      sessionExpiry: '',
    },
    {
      id: 'bench-in',
      type: 'mqtt in',
      z: NODERED_TAB_ID,
      name: 'events',
      topic: options.subscribe,
      qos: '1',
      datatype: 'json',
      broker: 'bench-broker',
      nl: false,
      rap: true,
      rh: 0,
      inputs: 0,
      wires: [['bench-score']],
    },
    {
      id: 'bench-score',
      type: 'function',
      z: NODERED_TAB_ID,
      name: 'score',
      func: functionCode(options.inputFields, options.decide),
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: onStartCode(options.modelPath),
      // On Stop is not async: the release runs on after it returns.
      finalize: "const session = context.get('session');\nif (session) session.release();",
      libs: [{ var: 'ort', module: 'onnxruntime-node' }],
      wires: [['bench-out']],
    },
    {
      id: 'bench-out',
      type: 'mqtt out',
      z: NODERED_TAB_ID,
      name: 'decision',
      topic: '',
      qos: '1',
      retain: 'false',
      respTopic: '',
      contentType: '',
      userProps: '',
      correl: '',
      expiry: '',
      broker: 'bench-broker',
      wires: [],
    },
  ];
}

export interface NodeRedSettingsOptions {
  userDir: string;
  flowFile: string;
  /** Leave Nagle's algorithm on, as stock Node-RED does. */
  nagle: boolean;
}

/**
 * A headless settings file: no editor, no HTTP server, no update check or diagnostics, external modules for
 * function nodes allowed but never installed (the bench links onnxruntime-node into the user dir).
 *
 * Node-RED's mqtt node has no TCP no-delay option and MQTT.js does not set it, so unless `nagle` is asked
 * for, the settings file turns it on for every socket the process opens: the other systems run with it,
 * and Nagle's algorithm alone holds small replies back for tens of milliseconds.
 */
export function noderedSettings(options: NodeRedSettingsOptions): string {
  const settings = {
    userDir: options.userDir,
    flowFile: options.flowFile,
    flowFilePretty: true,
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    httpStatic: false,
    disableEditor: true,
    uiHost: '127.0.0.1',
    functionExternalModules: true,
    functionTimeout: 0,
    externalModules: { autoInstall: false, modules: { allowInstall: false } },
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false },
    runtimeState: { enabled: false, ui: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    exportGlobalContextKeys: false,
    mqttReconnectTime: 1000,
  };
  const noDelay = options.nagle
    ? []
    : [
        "const net = require('node:net');",
        'const connect = net.Socket.prototype.connect;',
        'net.Socket.prototype.connect = function (...args) {',
        '  this.setNoDelay(true);',
        '  return connect.apply(this, args);',
        '};',
      ];
  return [
    '// Generated by bench/bench.ts for one benchmark run.',
    ...noDelay,
    `module.exports = ${JSON.stringify(settings, null, 2)};`,
    '',
  ].join('\n');
}
