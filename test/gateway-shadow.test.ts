/**
 * A shadow model with the real runtime and a real broker: every event gets one published live decision, the
 * shadow's are only on record, and `infergate shadow report` reads them while the gateway runs.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, atmPipeline, cliPath, sampleModel, sleep } from './helpers/gateway-process.js';

t.test('shadow int8 next to the live fp32 model: recorded, never published, reported', async (t) => {
  if (!requireMosquitto(t)) return;
  const { dir, inbox, pub } = await startGatewayFixture(t, {
    collect: ['atm/+/decision', 'infergate/gw-test/#'],
    config: {
      models: {
        'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk.fp32'), threads: 1 },
        student: { runtime: 'onnx', path: sampleModel('atm-risk.int8'), threads: 1 },
      },
      pipelines: [atmPipeline({ shadow: 'student' })],
    },
  });
  const total = 120;
  for (let i = 0; i < total; i += 1) {
    const amount = 20 + ((i * 97) % 4000);
    await pub.publishAsync(
      'atm/S1/tx',
      JSON.stringify(atmEvent(`sh-${i}`, { amount, distanceKm: i % 300 })),
      {
        qos: 1,
      },
    );
    await sleep(5);
  }
  await inbox.waitFor(total, 15000);
  await sleep(500);
  const decisions = inbox.replies.filter((r) => r.topic === 'atm/S1/decision');
  t.equal(decisions.length, total, 'one published decision per event');
  t.ok(
    decisions.every((d) => (d.body.model as { name: string }).name === 'atm-risk'),
    'all by the live model',
  );
  t.equal(
    inbox.replies.filter((r) => r.topic !== 'infergate/gw-test/status').length,
    total,
    'nothing else published besides the status',
  );

  const run = spawnSync(
    process.execPath,
    [cliPath, 'shadow', 'report', '--state', `${dir}/state`, '--pipeline', 'atm-risk', '--json'],
    { encoding: 'utf8' },
  );
  t.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as {
    shadows: { model: string; shadowed: number; compared: number; agreement: number }[];
  };
  t.equal(report.shadows.length, 1);
  const shadow = report.shadows[0]!;
  t.equal(shadow.model, 'student');
  t.ok(shadow.shadowed > total / 2, `most events shadowed at this rate (${shadow.shadowed} of ${total})`);
  t.ok(shadow.agreement > 0.9, `the int8 model mostly agrees with fp32 (${shadow.agreement})`);
});
