/**
 * The broker goes away mid-stream (~200 events/s) and comes back on the same port and persistence file.
 * Daemon, publisher and collector all hold MQTT 5 persistent sessions, so each side queues while the broker
 * is down and the broker keeps what it had accepted; an event counts as published once its PUBACK arrived.
 *
 * Mosquitto persists by snapshot: by default every `autosave_interval` (1800 s) and at a clean shutdown.
 * After a SIGKILL it comes back with its last snapshot: sessions, subscriptions and queued messages since
 * then are gone, although their publishers already got a PUBACK (FACTS: "after kill -9 it lost what came
 * since the last save"). `autosave_on_changes true` with `autosave_interval 1` saves after every change,
 * which is what we recommend (docs/reliability.md). The SIGKILL cases freeze the daemon first, so ~200
 * events sit queued for it at the broker when the broker dies: the state the snapshot setting decides about.
 *
 * Even saving after every change leaves one window: Mosquitto sends the PUBACK while it handles a PUBLISH
 * and saves at the end of its loop iteration. A crash in between loses what that iteration accepted. Each
 * save writes, fsyncs and renames the whole snapshot (~6 ms here), so with this setting the broker accepts
 * only ~120 QoS 1 messages/s on this box (~2,000 without) and, at this test's rate, spends most of its time
 * saving: the kill usually lands in a save. Measured here: 0 or 1 event lost per run out of ~200 queued
 * (the last one the broker accepted; a second subscriber had received it before the kill), against ~300
 * with the snapshot defaults.
 */
import t, { type Test } from 'tap';
import { requireMosquitto, startMosquitto, type MosquittoOptions } from './helpers/mosquitto.js';
import {
  describeVerdict,
  startTerminals,
  streamEvents,
  until,
  verdict,
  type Verdict,
} from './helpers/fault-stream.js';
import { sleep, startGateway, tempDir, testConfig, writeConfig } from './helpers/gateway-process.js';

const RATE = 200;
const COUNT = 500;
/** A SIGKILL's cost with save-on-every-change: the PUBLISHes of the broker's last loop iteration. */
const CRASH_WINDOW_MAX_LOST = 3;
const RECOMMENDED: MosquittoOptions = { persistence: true, extraConfig: ['max_queued_messages 10000'] };
/** Mosquitto's own persistence defaults (the helper's recommended lines overridden: the last one wins). */
const SNAPSHOT_DEFAULTS: MosquittoOptions = {
  persistence: true,
  extraConfig: ['max_queued_messages 10000', 'autosave_interval 1800', 'autosave_on_changes false'],
};

interface Outcome {
  verdict: Verdict;
  publishErrors: number;
  sessionResumed: boolean | undefined;
  reconnects: number;
  timeline: string;
}

async function brokerOutage(
  t: Test,
  name: string,
  broker: MosquittoOptions,
  fault: { signal: 'SIGTERM' | 'SIGKILL'; backlog: boolean; lossExpected?: boolean },
): Promise<Outcome> {
  const mosquitto = await startMosquitto(broker);
  t.teardown(() => mosquitto.stop());
  const dir = tempDir(t);
  const config = testConfig({ url: mosquitto.url, gatewayId: `gw-${name}`, stateDir: `${dir}/state` });
  const gateway = await startGateway(t, writeConfig(dir, config));
  const { collector, publisher } = await startTerminals(t, mosquitto.url, name);

  const began = performance.now();
  const at = (): string => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  const stream = streamEvents(publisher, {
    count: COUNT,
    rate: RATE,
    idPrefix: name,
  });
  await sleep(1000);
  if (fault.backlog) {
    // Frozen, the daemon takes nothing more: past its Receive Maximum the broker queues the events for it.
    gateway.kill('SIGSTOP');
    await sleep(1000);
  }
  const connects = (): number => gateway.logs.filter((l) => l.msg === 'mqtt connected').length;
  const connectsBefore = connects();
  const downAt = at();
  mosquitto.kill(fault.signal);
  await sleep(500);
  await mosquitto.restart();
  const upAt = at();
  if (fault.backlog) gateway.kill('SIGCONT');

  await stream.settled(20_000);
  const published = stream.ids.filter((id) => stream.acked.has(id));
  // A run that loses events would otherwise wait out the whole timeout: stop once nothing arrives for 3 s.
  await collector.waitForAll(published, 20_000, fault.lossExpected ? 3_000 : Infinity);
  // Late repeats (redeliveries answered from the log) count against "identical decisions" too.
  await sleep(300);
  await until(() => connects() > connectsBefore, 5_000);
  const reconnect = gateway.logs.filter((l) => l.msg === 'mqtt connected')[connectsBefore];
  t.equal(gateway.child.exitCode, null, 'the daemon survived the outage');
  return {
    verdict: verdict(published, collector),
    publishErrors: stream.errors.length + (COUNT - stream.ids.length),
    sessionResumed: reconnect?.sessionPresent as boolean | undefined,
    reconnects: connects() - 1,
    timeline: `broker ${fault.signal} at ${downAt}, back at ${upAt}, all settled at ${at()}`,
  };
}

function report(t: Test, outcome: Outcome): void {
  t.comment(
    `${describeVerdict(outcome.verdict)}; publish errors ${outcome.publishErrors}; ` +
      `daemon reconnects ${outcome.reconnects}, session resumed ${String(outcome.sessionResumed)}; ` +
      outcome.timeline,
  );
  if (outcome.verdict.unanswered.length > 0) {
    t.comment(`unanswered: ${outcome.verdict.unanswered.slice(0, 20).join(', ')}`);
  }
}

t.test('SIGTERM and restart mid-stream (recommended persistence): zero lost', async (t) => {
  if (!requireMosquitto(t)) return;
  const outcome = await brokerOutage(t, 'term', RECOMMENDED, { signal: 'SIGTERM', backlog: false });
  report(t, outcome);
  const v = outcome.verdict;
  t.equal(outcome.publishErrors, 0, 'every publish was acknowledged, before or after the restart');
  t.equal(v.published, COUNT, 'all events published');
  t.same(v.unanswered, [], 'every published event answered');
  t.same(v.conflicting, [], 'all answers for one id identical');
  t.equal(outcome.sessionResumed, true, 'the daemon found its session after the restart');
});

t.test('SIGKILL with a backlog queued for the daemon (recommended persistence)', async (t) => {
  if (!requireMosquitto(t)) return;
  const outcome = await brokerOutage(t, 'kill', RECOMMENDED, {
    signal: 'SIGKILL',
    backlog: true,
    lossExpected: true,
  });
  report(t, outcome);
  const v = outcome.verdict;
  t.equal(outcome.publishErrors, 0, 'every publish was acknowledged, before or after the crash');
  t.equal(v.published, COUNT, 'all events published');
  t.equal(outcome.sessionResumed, true, 'autosave on every change kept the session across SIGKILL');
  t.ok(
    v.unanswered.length <= CRASH_WINDOW_MAX_LOST,
    `the backlog survived; at most the broker's last accepted events lost (${v.unanswered.length})`,
  );
  t.same(v.conflicting, [], 'all answers for one id identical');
});

t.test('SIGKILL with a backlog, Mosquitto snapshot defaults: what the recommendation prevents', async (t) => {
  if (!requireMosquitto(t)) return;
  const outcome = await brokerOutage(t, 'snap', SNAPSHOT_DEFAULTS, {
    signal: 'SIGKILL',
    backlog: true,
    lossExpected: true,
  });
  report(t, outcome);
  // Not a guarantee of ours: this documents the broker behaviour the recommended settings exist for.
  t.equal(outcome.sessionResumed, false, 'no snapshot since the start: the daemon session is gone');
  t.ok(
    outcome.verdict.unanswered.length > CRASH_WINDOW_MAX_LOST,
    'events the broker acknowledged and queued for the daemon were lost with it',
  );
  t.same(outcome.verdict.conflicting, [], 'what was answered is still answered consistently');
});
