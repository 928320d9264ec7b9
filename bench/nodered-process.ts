/**
 * Starting the Node-RED peer: a user dir in the run's temp dir with the generated settings and flow, and
 * onnxruntime-node linked in where Node-RED looks for a function node's external modules. Ready = a probe
 * event answered end to end (broker connected, subscribed, session created in On Start).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, type Child } from './children.js';
import type { EventShape } from './event-shape.js';
import { connectNoDelay, whenConnected } from './mqtt-client.js';
import { ONNXRUNTIME_VERSION, type NodeRedInstall } from './nodered-install.js';
import { noderedFlow, noderedSettings } from './nodered-flow.js';
import type { YamlInputField } from './row-code.js';
import type { SystemUnderTest } from './systems-under-test.js';

export const NODERED_TOPIC_PREFIX = 'nodered';

export interface StartNodeRedOptions {
  install: NodeRedInstall;
  brokerUrl: string;
  modelPath: string;
  workDir: string;
  timeoutMs: number;
  shape: EventShape;
  sections: { input: { fields: unknown[] }; decide: unknown };
  nagle: boolean;
}

/** Writes the user dir and returns its path. */
function prepareUserDir(options: StartNodeRedOptions): string {
  const userDir = join(options.workDir, `nodered-${options.shape.name}`);
  mkdirSync(join(userDir, 'node_modules'), { recursive: true });
  // Node-RED 4 resolves a function node's `libs` from <userDir>/node_modules, listed in its package.json.
  writeFileSync(
    join(userDir, 'package.json'),
    `${JSON.stringify({ name: 'infergate-bench-nodered-user', private: true, dependencies: { 'onnxruntime-node': ONNXRUNTIME_VERSION } }, null, 2)}\n`,
  );
  symlinkSync(options.install.onnxruntimeDir, join(userDir, 'node_modules', 'onnxruntime-node'), 'dir');
  const flowFile = join(userDir, 'flows.json');
  const flow = noderedFlow({
    brokerUrl: options.brokerUrl,
    subscribe: `${NODERED_TOPIC_PREFIX}/+/tx`,
    modelPath: options.modelPath,
    inputFields: options.sections.input.fields as YamlInputField[],
    decide: options.sections.decide,
    clientId: `bench-nodered-${options.shape.name}`,
  });
  writeFileSync(flowFile, `${JSON.stringify(flow, null, 2)}\n`);
  writeFileSync(join(userDir, 'settings.js'), noderedSettings({ userDir, flowFile, nagle: options.nagle }));
  return userDir;
}

/** Publishes a probe event every 250 ms until one is answered. */
async function waitAnswered(options: StartNodeRedOptions, child: Child): Promise<void> {
  const replyTopic = 'bench/probe/nodered';
  const client = connectNoDelay(options.brokerUrl, {
    protocolVersion: 5,
    clientId: `bench-probe-${process.pid}`,
    clean: true,
    reconnectPeriod: 500,
  });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  try {
    await whenConnected(client);
    await client.subscribeAsync(replyTopic, { qos: 1 });
    const probe = options.shape.generator(1, 1)('probe');
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => (err ? reject(err) : resolve());
      deadline = setTimeout(
        () =>
          done(new Error(`node-red answered no probe within ${options.timeoutMs} ms\n${child.logTail()}`)),
        options.timeoutMs,
      );
      client.on('message', () => done());
      void child.exited.then((exit) =>
        done(new Error(`node-red exited (${exit.code ?? exit.signal}) before ready\n${child.logTail()}`)),
      );
      const send = (): void => {
        client.publish(`${NODERED_TOPIC_PREFIX}/${probe.source}/tx`, JSON.stringify(probe.body), {
          qos: 1,
          properties: { responseTopic: replyTopic, correlationData: Buffer.from(probe.id) },
        });
      };
      send();
      timer = setInterval(send, 250);
    });
  } finally {
    clearInterval(timer);
    clearTimeout(deadline);
    await client.endAsync(true);
  }
}

export async function startNodeRed(options: StartNodeRedOptions): Promise<SystemUnderTest> {
  const userDir = prepareUserDir(options);
  const child = startChild(
    'node-red',
    process.execPath,
    [options.install.redJs, '--settings', join(userDir, 'settings.js'), '--userDir', userDir],
    {
      logPath: join(options.workDir, `nodered-${options.shape.name}.log`),
      cwd: userDir,
      // As the gateway and the bare loop run: onnxruntime's telemetry off (adapters/onnx/telemetry.ts).
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    },
  );
  try {
    await waitAnswered(options, child);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    name: 'nodered',
    topicPrefix: NODERED_TOPIC_PREFIX,
    child,
    startupMs: performance.now() - child.startedAt,
  };
}
