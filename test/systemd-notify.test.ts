/**
 * sd_notify from the real daemon: NOTIFY_SOCKET points at a datagram socket this test listens on (as
 * systemd does). READY=1 comes only once the broker is connected and every model is warmed up, WATCHDOG=1
 * every WATCHDOG_USEC/2 from the event loop, RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1
 * as soon as SIGTERM arrives.
 */
import t from 'tap';
import { requireMosquitto, startMosquitto } from './helpers/mosquitto.js';
import { listenForNotifications } from './helpers/notify-listener.js';
import { sleep, spawnGateway, tempDir, testConfig, writeConfig } from './helpers/gateway-process.js';

const WATCHDOG_USEC = 400_000;

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const PING_MS = WATCHDOG_USEC / 2000;

t.test(
  'READY after the broker and the warm-up, WATCHDOG pings, RELOADING, STOPPING on SIGTERM',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const broker = await startMosquitto();
    t.teardown(() => broker.stop());
    // The broker is down while the gateway starts: it must not report READY before it is connected.
    await broker.stop();
    const dir = tempDir(t);
    const notify = listenForNotifications(t, dir);
    const configFile = writeConfig(
      dir,
      testConfig({ url: broker.url, stateDir: `${dir}/state`, extra: { metrics: { enabled: false } } }),
    );
    const gateway = spawnGateway(configFile, {
      NOTIFY_SOCKET: notify.address,
      WATCHDOG_USEC: String(WATCHDOG_USEC),
    });
    t.teardown(async () => {
      gateway.kill('SIGKILL');
      await gateway.exited;
    });

    await gateway.waitForLog((line) => line.msg === 'mqtt connect failed');
    await sleep(1_000);
    t.equal(notify.with('READY').length, 0, 'no READY while the broker is unreachable');
    t.ok(notify.with('WATCHDOG').length >= 3, 'the watchdog is pinged while starting');
    t.match(notify.with('STATUS')[0]?.fields.STATUS, /^starting/, 'STATUS says it is starting');

    await broker.restart();
    const ready = await notify.waitFor('READY');
    const connected = await gateway.waitForLog((line) => line.msg === 'mqtt connected');
    const warmed = gateway.logs.filter(
      (line) => line.msg === 'model latency measured against the pipeline budget',
    );
    t.equal(warmed.length, 1, 'the model was warmed up and measured');
    t.ok(ready.at >= (connected.time as number), 'READY came after the broker connection');
    t.ok(ready.at >= (warmed[0]!.time as number), 'READY came after the model warm-up');
    t.equal(ready.fields.READY, '1');
    t.match(ready.fields.STATUS, /^serving 1 pipeline; broker connected; \d+ decided$/, 'one-line STATUS');

    const since = Date.now();
    await sleep(2_000);
    const pings = notify.with('WATCHDOG').filter((m) => m.at >= since);
    const gaps = pings.slice(1).map((m, i) => m.at - pings[i]!.at);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    t.ok(pings.length >= 7 && pings.length <= 12, `${pings.length} pings in 2 s at a ${PING_MS} ms period`);
    t.ok(
      Math.abs(mean - PING_MS) < PING_MS * 0.3,
      `mean ping interval ${Math.round(mean)} ms ≈ ${PING_MS} ms`,
    );
    t.ok(Math.max(...gaps) < WATCHDOG_USEC / 1000, 'never a gap as long as the watchdog timeout');

    // SIGHUP (ExecReload=): RELOADING=1, then READY=1 once the reloaded gateway serves.
    gateway.kill('SIGHUP');
    await until(() => notify.with('READY').length === 2, 'READY after the reload');
    const reloading = notify.with('RELOADING');
    t.equal(reloading.length, 1, 'RELOADING=1 sent once');
    t.match(reloading[0]!.fields.MONOTONIC_USEC, /^\d+$/);
    t.ok(reloading[0]!.at <= notify.with('READY')[1]!.at, 'RELOADING before the second READY');

    gateway.kill('SIGTERM');
    const exit = await gateway.exited;
    const exitedAt = Date.now();
    t.equal(exit.code, 0, 'clean exit');
    const stopping = notify.with('STOPPING');
    t.equal(stopping.length, 1, 'STOPPING=1 sent once');
    t.ok(stopping[0]!.at >= ready.at && stopping[0]!.at <= exitedAt, 'STOPPING between READY and the exit');
    t.match(stopping[0]!.fields.STATUS, /^stopping on SIGTERM/);
    const stoppingIndex = notify.messages.indexOf(stopping[0]!);
    t.equal(
      notify.messages.slice(stoppingIndex + 1).filter((m) => 'READY' in m.fields).length,
      0,
      'no READY after STOPPING',
    );
  },
);
