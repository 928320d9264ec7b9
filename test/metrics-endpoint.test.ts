/**
 * /metrics, /readyz and the stats topic of a running daemon: after N events the counters and histogram
 * counts are exactly N; /readyz turns 503 when the broker goes away and 200 when it is back (one
 * reconnect counted); the stats message carries the same numbers.
 */
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep } from './helpers/gateway-process.js';

const VALID = 25;
const INVALID = 3;

/** `name{labels} value` → value; labels must match exactly as printed (prom-client keeps label order). */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

t.test('counters and histograms match N; /readyz follows the broker; stats on their own topic', async (t) => {
  if (!requireMosquitto(t)) return;
  const { broker, gateway, inbox, pub } = await startGatewayFixture(t, {
    collect: ['atm/+/decision', 'infergate/gw-test/+'],
    config: { extra: { metrics: { enabled: true, host: '127.0.0.1', port: 0, statusIntervalSec: 1 } } },
  });
  const listening = gateway.logs.find((line) => line.msg === 'metrics listening')!;
  const base = `http://127.0.0.1:${listening.port as number}`;
  const scrape = async () => (await fetch(`${base}/metrics`)).text();

  t.equal((await fetch(`${base}/healthz`)).status, 200, '/healthz');
  t.equal((await fetch(`${base}/readyz`)).status, 200, '/readyz while serving');

  for (let i = 0; i < VALID; i++) {
    await pub.publishAsync('atm/M1/tx', JSON.stringify(atmEvent(`m-${i}`)), { qos: 1 });
  }
  for (let i = 0; i < INVALID; i++) {
    await pub.publishAsync('atm/M1/tx', JSON.stringify({ id: `bad-${i}` }), { qos: 1 });
  }
  const total = VALID + INVALID;
  await until(
    async () => inbox.replies.filter((r) => r.topic === 'atm/M1/decision').length === total,
    'every decision',
  );
  const p = 'pipeline="atm-risk"';
  // The publish stage ends with the broker's PUBACK, which may trail the subscriber's copy a little.
  await until(
    async () =>
      sample(await scrape(), `infergate_stage_latency_seconds_count{${p},stage="publish"}`) === total,
    'publish acknowledgements',
  );
  const text = await scrape();
  t.equal(sample(text, `infergate_events_received_total{${p}}`), total, 'received');
  t.equal(sample(text, `infergate_events_decided_total{${p},source="model",reason="ok"}`), VALID, 'model/ok');
  t.equal(
    sample(text, `infergate_events_decided_total{${p},source="fallback",reason="invalid_input"}`),
    INVALID,
    'fallback/invalid_input',
  );
  t.equal(sample(text, `infergate_events_decided_total{${p},source="fallback",reason="deadline"}`), 0);
  t.equal(sample(text, `infergate_deadline_misses_total{${p}}`), 0, 'no deadline misses');
  t.equal(
    sample(text, `infergate_decision_latency_seconds_count{${p}}`),
    total,
    'end-to-end histogram count',
  );
  t.equal(sample(text, `infergate_decision_latency_seconds_bucket{le="+Inf",${p}}`), total, '+Inf bucket');
  t.equal(sample(text, `infergate_stage_latency_seconds_count{${p},stage="decode"}`), total, 'decode count');
  t.equal(sample(text, `infergate_stage_latency_seconds_count{${p},stage="queue"}`), VALID, 'queue count');
  t.equal(
    sample(text, `infergate_stage_latency_seconds_count{${p},stage="inference"}`),
    VALID,
    'inference count',
  );
  t.equal(
    sample(text, 'infergate_dead_letters_total{code="IG_ERR_INPUT_FIELD_MISSING"}'),
    INVALID,
    'dead letters',
  );
  t.equal(sample(text, 'infergate_queue_depth{model="atm-risk"}'), 0, 'queue drained');
  t.ok((sample(text, 'infergate_model_load_seconds{model="atm-risk"}') ?? 0) > 0, 'model load time');
  t.equal(sample(text, 'infergate_mqtt_connected'), 1);
  t.equal(sample(text, 'infergate_ready'), 1);
  t.ok((sample(text, 'infergate_process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024, 'RSS');
  t.ok(sample(text, 'infergate_event_loop_lag_seconds{stat="p99"}') !== undefined, 'event-loop lag');

  await until(
    async () =>
      inbox.replies.some(
        (r) =>
          r.topic === 'infergate/gw-test/stats' &&
          (r.body.pipelines as Record<string, { received: number }>)?.['atm-risk']?.received === total,
      ),
    'a stats message with the totals',
    5_000,
  );
  const stats = inbox.replies.filter((r) => r.topic === 'infergate/gw-test/stats').at(-1)!.body;
  t.match(stats, {
    gateway: 'gw-test',
    ready: true,
    mqtt: { connected: true, reconnects: 0 },
    pipelines: {
      'atm-risk': { received: total, decided: { ok: VALID, invalid_input: INVALID }, deadlineMisses: 0 },
    },
    models: { 'atm-risk': { queued: 0, inflight: 0 } },
  });
  const statuses = inbox.replies.filter((r) => r.topic === 'infergate/gw-test/status').map((r) => r.body.raw);
  t.same([...new Set(statuses)], ['online'], 'the status topic carries only online/offline');

  await broker.stop();
  await until(async () => (await fetch(`${base}/readyz`)).status === 503, '/readyz 503');
  const notReady = await fetch(`${base}/readyz`);
  t.match(await notReady.text(), /not ready: broker (disconnected|connecting)/, 'says why');
  t.equal(sample(await scrape(), 'infergate_mqtt_connected'), 0);
  t.equal(sample(await scrape(), 'infergate_ready'), 0);
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'still alive');

  await broker.restart();
  await until(async () => (await fetch(`${base}/readyz`)).status === 200, '/readyz 200 again');
  t.equal(sample(await scrape(), 'infergate_mqtt_reconnects_total'), 1, 'one reconnect');
});
