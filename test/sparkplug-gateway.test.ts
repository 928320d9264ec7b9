/**
 * The gateway as a Sparkplug B host against a real Mosquitto, with edge nodes written with the same library
 * (tools/dev/sparkplug-edge-node.ts) and the sample inspection model.
 */
import t from 'tap';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { sampleModel, type Reply } from './helpers/gateway-process.js';
import { requireMosquitto } from './helpers/mosquitto.js';
import { SparkplugEdgeNode } from '../tools/dev/sparkplug-edge-node.js';
import { INSPECTION_TAGS, STATION_METRICS, partValues } from '../tools/dev/sparkplug-edge-sim.js';

const GROUP = 'plant1';
const DEVICE = 'station1';

function sparkplugConfig() {
  return {
    models: { inspection: { runtime: 'onnx', path: sampleModel('inspection'), threads: 1 } },
    pipelines: [
      {
        name: 'station-inspection',
        decoder: 'sparkplug',
        subscribe: `spBv1.0/${GROUP}/DDATA/+/+`,
        publish: `${GROUP}/{1}/{2}/verdict`,
        model: 'inspection',
        budgetMs: 300,
        fallback: 'review',
        input: { fields: INSPECTION_TAGS.map((tag) => tag.name) },
        decide: {
          argmax: {
            labels: ['ok', 'dimensional', 'thermal', 'vibration'],
            decisions: { ok: 'accept', dimensional: 'reject', thermal: 'reject', vibration: 'reject' },
            minConfidence: 0.6,
            lowConfidence: 'review',
          },
        },
      },
    ],
    extra: {
      sparkplug: {
        hostId: 'infergate-test',
        rebirthMinIntervalMs: 60000,
        eventIdMetric: 'Part/Id',
        commands: {
          mode: 'also',
          decisionMetric: 'Inspection/Decision',
          rejectMetric: 'Inspection/Reject',
        },
      },
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 10000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function verdict(replies: readonly Reply[], id: string): Reply | undefined {
  return replies.find((r) => r.topic.endsWith('/verdict') && r.body.id === id);
}

t.test('Sparkplug B host', async (t) => {
  if (!requireMosquitto(t)) return;
  const { broker, inbox, gateway } = await startGatewayFixture(t, {
    collect: [`${GROUP}/+/+/verdict`, 'infergate/gw-test/deadletter', 'spBv1.0/STATE/#'],
    config: sparkplugConfig(),
  });
  const edgeNode = async (edge: string, rebirthOnRequest = true) => {
    const node = new SparkplugEdgeNode({
      url: broker.url,
      group: GROUP,
      edge,
      devices: { [DEVICE]: STATION_METRICS },
      rebirthOnRequest,
    });
    await node.connect();
    t.teardown(() => node.end());
    return node;
  };
  const rebirthRequests = (node: SparkplugEdgeNode) =>
    node.commands.filter((c) => c.topic.includes('/NCMD/') && c.metrics['Node Control/Rebirth'] === true);

  await t.test('host STATE online, retained', async (t) => {
    await until(() => inbox.replies.some((r) => r.topic === 'spBv1.0/STATE/infergate-test'));
    const state = inbox.replies.find((r) => r.topic === 'spBv1.0/STATE/infergate-test')!;
    t.equal(state.body.online, true);
    t.type(state.body.timestamp, 'number');
  });

  await t.test('BIRTH then DATA by alias: a decision on the JSON topic and a DCMD back', async (t) => {
    const node = await edgeNode('line1');
    await node.birth();
    await node.data(DEVICE, partValues('part-1', 0.2));
    await until(() => verdict(inbox.replies, 'part-1') !== undefined && node.commands.length > 0);
    const reply = verdict(inbox.replies, 'part-1')!;
    t.equal(reply.topic, `${GROUP}/line1/${DEVICE}/verdict`);
    t.equal(reply.body.source, 'model');
    t.equal(reply.body.reason, 'ok');
    t.equal(reply.body.decision, 'accept', 'a part at the training means is ok');
    const [command] = node.commands;
    t.equal(command!.topic, `spBv1.0/${GROUP}/DCMD/line1/${DEVICE}`);
    t.same(command!.metrics, { 'Inspection/Decision': 'accept', 'Inspection/Reject': false });

    // Report by exception: one changed tag; the others keep their last value.
    await node.data(DEVICE, { 'Part/Id': 'part-2', 'Vibration/Band6': 0.26 });
    await until(() => verdict(inbox.replies, 'part-2') !== undefined);
    t.equal(verdict(inbox.replies, 'part-2')!.body.reason, 'ok');
  });

  await t.test('DATA before any BIRTH: refused, and a rebirth is requested', async (t) => {
    const node = await edgeNode('line2');
    await node.data(DEVICE, partValues('early-1'));
    await until(() => node.rebirths === 1);
    t.equal(rebirthRequests(node).length, 1, 'NCMD Node Control/Rebirth = true');
    const refused = (r: Reply) =>
      r.topic === `${GROUP}/line2/${DEVICE}/verdict` && r.body.reason === 'invalid_input';
    await until(() => inbox.replies.some(refused));
    const answer = inbox.replies.find(refused)!;
    t.match(answer.body.error, { code: 'IG_ERR_SPARKPLUG_NO_BIRTH' });
    t.equal(answer.body.decision, 'review', 'the fallback decision');
    await until(() =>
      inbox.replies.some(
        (r) => r.topic === 'infergate/gw-test/deadletter' && r.body.code === 'IG_ERR_SPARKPLUG_NO_BIRTH',
      ),
    );
    // After the rebirth the same node is heard.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await node.data(DEVICE, partValues('after-rebirth'));
    await until(() => verdict(inbox.replies, 'after-rebirth') !== undefined);
    t.equal(verdict(inbox.replies, 'after-rebirth')!.body.reason, 'ok');
  });

  await t.test('a seq gap: refused, and a rebirth is requested', async (t) => {
    const node = await edgeNode('line3', false);
    await node.birth();
    await node.data(DEVICE, partValues('gap-0'));
    node.skipSeq();
    await node.data(DEVICE, partValues('gap-1'));
    await until(() => rebirthRequests(node).length === 1);
    await until(() =>
      inbox.replies.some(
        (r) =>
          r.topic === `${GROUP}/line3/${DEVICE}/verdict` &&
          (r.body.error as { code?: string })?.code === 'IG_ERR_SPARKPLUG_SEQ_GAP',
      ),
    );
    // Replies are not ordered across events: gap-1's refusal is decided as it arrives, gap-0 by the model,
    // possibly later in the same turn.
    await until(() => verdict(inbox.replies, 'gap-0') !== undefined);
    t.equal(verdict(inbox.replies, 'gap-0')?.body.reason, 'ok', 'the message before the gap was decided');
    t.notOk(verdict(inbox.replies, 'gap-1'), 'the message after the gap was not decided by the model');
    // Refused until the rebirth; the request is rate-limited per edge node.
    await node.data(DEVICE, partValues('gap-2'));
    await until(
      () =>
        inbox.replies.filter(
          (r) => r.topic === `${GROUP}/line3/${DEVICE}/verdict` && r.body.reason === 'invalid_input',
        ).length === 2,
    );
    t.equal(rebirthRequests(node).length, 1, 'one rebirth request within rebirthMinIntervalMs');
    await node.birth();
    await node.data(DEVICE, partValues('gap-3'));
    await until(() => verdict(inbox.replies, 'gap-3') !== undefined);
    t.equal(verdict(inbox.replies, 'gap-3')!.body.reason, 'ok', 'heard again after its NBIRTH');
  });

  await t.test('DDEATH: later DATA refused until the device rebirths', async (t) => {
    const node = await edgeNode('line4');
    await node.birth();
    await node.data(DEVICE, partValues('dd-0'));
    await until(() => verdict(inbox.replies, 'dd-0') !== undefined);
    await node.deviceDeath(DEVICE);
    await node.data(DEVICE, partValues('dd-1'));
    await until(() =>
      inbox.replies.some(
        (r) =>
          r.topic === `${GROUP}/line4/${DEVICE}/verdict` &&
          (r.body.error as { code?: string })?.code === 'IG_ERR_SPARKPLUG_DEAD',
      ),
    );
    t.notOk(verdict(inbox.replies, 'dd-1'));
    await until(() => node.rebirths === 1);
    const commandsBefore = node.commands.filter((c) => c.topic.includes('/DCMD/')).length;
    t.equal(commandsBefore, 1, 'no DCMD for the refused event');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await node.data(DEVICE, partValues('dd-2'));
    await until(() => verdict(inbox.replies, 'dd-2') !== undefined);
    t.equal(verdict(inbox.replies, 'dd-2')!.body.reason, 'ok');
  });

  await t.test('a malformed protobuf: invalid_input and a dead letter', async (t) => {
    const node = await edgeNode('line5', false);
    await node.birth();
    await node.raw(DEVICE, Buffer.from('{"this is":"not protobuf"}'));
    await until(() =>
      inbox.replies.some(
        (r) => r.topic === 'infergate/gw-test/deadletter' && r.body.code === 'IG_ERR_SPARKPLUG_PAYLOAD',
      ),
    );
    const dead = inbox.replies.find(
      (r) => r.topic === 'infergate/gw-test/deadletter' && r.body.code === 'IG_ERR_SPARKPLUG_PAYLOAD',
    )!;
    t.equal(dead.body.topic, `spBv1.0/${GROUP}/DDATA/line5/${DEVICE}`);
    t.notOk(Object.hasOwn(dead.body, 'payloadBase64'), 'no payload copied');
    await until(() =>
      inbox.replies.some(
        (r) => r.topic === `${GROUP}/line5/${DEVICE}/verdict` && r.body.reason === 'invalid_input',
      ),
    );
    t.equal(rebirthRequests(node).length, 0, 'a bad payload is not a reason to rebirth');
  });

  await t.test('the Last Will says offline, with the timestamp of the online state', async (t) => {
    const online = inbox.replies.find((r) => r.topic === 'spBv1.0/STATE/infergate-test')!;
    gateway.kill('SIGKILL');
    await until(() =>
      inbox.replies.some((r) => r.topic === 'spBv1.0/STATE/infergate-test' && r.body.online === false),
    );
    const offline = inbox.replies.find(
      (r) => r.topic === 'spBv1.0/STATE/infergate-test' && r.body.online === false,
    )!;
    t.equal(offline.body.timestamp, online.body.timestamp);
  });
});
