/**
 * Nothing outside the box is needed: the daemon runs in a network namespace with only a loopback
 * interface (unshare -n; ip link set lo up), with the embedded broker; a client in the same namespace
 * publishes events and gets every decision back. Addresses off the box are unreachable from there.
 */
import t from 'tap';
import { startGateway, tempDir, testConfig, writeConfig } from './helpers/gateway-process.js';
import { inNamespaceOf, interfacesOf, netnsOf, requireNetns } from './helpers/netns.js';

const EVENTS = 10;
/** Free by construction: the namespace is new and empty. */
const BROKER_PORT = 1884;

t.test('loopback only, embedded broker: decisions still flow', async (t) => {
  if (!requireNetns(t)) return;
  const dir = tempDir(t);
  const configFile = writeConfig(
    dir,
    testConfig({
      url: `mqtt://127.0.0.1:${BROKER_PORT}`,
      protocolVersion: 4,
      embedded: { port: BROKER_PORT },
      stateDir: `${dir}/state`,
      extra: { metrics: { enabled: true, host: '127.0.0.1', port: 9464 } },
    }),
  );
  const gateway = await startGateway(
    t,
    configFile,
    {},
    // unshare execs sh, which execs node: the daemon keeps the spawned pid.
    { wrap: (argv) => ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...argv] },
  );
  const pid = gateway.child.pid!;
  t.not(netnsOf(pid), netnsOf(process.pid), 'the daemon has a network namespace of its own');
  t.same(interfacesOf(pid), ['lo'], 'with only a loopback interface');

  const result = (await inNamespaceOf(pid, [
    'roundtrip',
    `mqtt://127.0.0.1:${BROKER_PORT}`,
    '4',
    String(EVENTS),
  ])) as { decisions?: Record<string, unknown>[]; error?: string };
  t.notOk(result.error, 'the client in the namespace ran');
  t.equal(result.decisions?.length, EVENTS, `${EVENTS} decisions inside the namespace`);
  t.ok(
    result.decisions?.every((d) => d.source === 'model' && d.reason === 'ok'),
    'each one from the model',
  );

  const { probes } = (await inNamespaceOf(pid, [
    'probe',
    '1.1.1.1:443',
    '192.168.1.1:1883',
    `127.0.0.1:${BROKER_PORT}`,
    '127.0.0.1:9464',
  ])) as { probes: { address: string; result: string }[] };
  t.same(
    probes.map((p) => p.result),
    ['ENETUNREACH', 'ENETUNREACH', 'connected', 'connected'],
    'off the box unreachable; the broker and /metrics on loopback',
  );
});
