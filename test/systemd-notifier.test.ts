/**
 * The notifier adapter on its own: abstract sockets (`@name`), WATCHDOG_PID, one-line STATUS, RELOADING
 * with MONOTONIC_USEC, and a no-op when systemd did not ask for notifications.
 */
import t from 'tap';
import { createSystemdNotifier } from '../adapters/ops/systemd-notifier.js';
import { listenForNotifications } from './helpers/notify-listener.js';
import { memoryLogger, waitFor } from './helpers/mqtt-fixtures.js';
import { tempDir } from './helpers/gateway-process.js';

t.test('without NOTIFY_SOCKET every call is a no-op', async (t) => {
  const notifier = createSystemdNotifier({ logger: memoryLogger().logger, env: {} });
  t.equal(notifier.enabled, false);
  await notifier.start();
  notifier.ready('x');
  notifier.stop();
  notifier.stop();
});

t.test('abstract socket: READY, STATUS, RELOADING, STOPPING and watchdog pings', async (t) => {
  const notify = listenForNotifications(t, tempDir(t), { abstract: true });
  t.ok(notify.address.startsWith('@'));
  const notifier = createSystemdNotifier({
    logger: memoryLogger().logger,
    env: { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) },
  });
  t.teardown(() => notifier.stop());
  t.equal(notifier.watchdogIntervalMs, 50);
  await notifier.start();
  notifier.ready('serving\nsecond line');
  notifier.reloading('reloading');
  notifier.ready('serving again');
  notifier.stopping('stopping');
  await waitFor(() => notify.with('STOPPING').length === 1, 'STOPPING');
  await waitFor(() => notify.with('WATCHDOG').length >= 3, 'three pings');
  const ready = notify.with('READY');
  t.equal(ready.length, 2);
  t.equal(ready[0]!.fields.STATUS, 'serving second line', 'STATUS is one line');
  const reloading = notify.with('RELOADING')[0]!;
  t.match(reloading.fields.MONOTONIC_USEC, /^\d+$/, 'RELOADING carries MONOTONIC_USEC');
  const order = notify.messages.filter((m) => !('WATCHDOG' in m.fields)).map((m) => Object.keys(m.fields)[0]);
  t.same(order, ['READY', 'RELOADING', 'READY', 'STOPPING']);
  notifier.stop();
  const count = notify.with('WATCHDOG').length;
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(notify.with('WATCHDOG').length, count, 'no pings after stop()');
});

t.test('WATCHDOG_PID of another process: no watchdog for us', async (t) => {
  const notifier = createSystemdNotifier({
    logger: memoryLogger().logger,
    env: { NOTIFY_SOCKET: '/run/nothing-here', WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' },
  });
  t.equal(notifier.enabled, true);
  t.equal(notifier.watchdogIntervalMs, null);
});

t.test('an unreachable socket is logged once, not per ping', async (t) => {
  const log = memoryLogger();
  const notifier = createSystemdNotifier({
    logger: log.logger,
    env: { NOTIFY_SOCKET: `${tempDir(t)}/absent.sock`, WATCHDOG_USEC: '60000' },
  });
  t.teardown(() => notifier.stop());
  await notifier.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(log.records.filter((r) => r.level === 50).length, 1, 'one error');
  t.equal(log.find('systemd notification failed').length > 1, true, 'later failures at debug');
});
