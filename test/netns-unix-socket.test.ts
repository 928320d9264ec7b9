/**
 * The infergate-local.service promise, reproduced without systemd: the daemon runs in a network namespace
 * of its own with no interface up (unshare -n, like PrivateNetwork=yes), reaches Mosquitto through its
 * Unix-socket listener, and decisions flow. From inside that namespace every TCP connect fails. /metrics
 * is served on a socket opened out here and passed in, as infergate-local.socket does.
 */
import net from 'node:net';
import t from 'tap';
import { requireMosquitto, startMosquitto } from './helpers/mosquitto.js';
import {
  atmEvent,
  collector,
  publisher,
  startGateway,
  tempDir,
  testConfig,
  writeConfig,
} from './helpers/gateway-process.js';
import { inNamespaceOf, interfacesOf, netnsOf, requireNetns, tcpSocketsOf } from './helpers/netns.js';

const EVENTS = 20;

t.test('no network at all: decisions flow over the Unix socket, TCP connects fail', async (t) => {
  if (!requireMosquitto(t) || !requireNetns(t)) return;
  const broker = await startMosquitto({ unixSocket: true });
  t.teardown(() => broker.stop());
  const dir = tempDir(t);

  // Socket activation: a listener in this (the host's) namespace, handed to the daemon as fd 3.
  const activation = net.createServer();
  await new Promise<void>((resolve) => activation.listen(0, '127.0.0.1', resolve));
  const metricsPort = (activation.address() as net.AddressInfo).port;
  const fd = (activation as unknown as { _handle: { fd: number } })._handle.fd;

  const configFile = writeConfig(
    dir,
    testConfig({
      url: `unix://${broker.socketPath}`,
      stateDir: `${dir}/state`,
      extra: { metrics: { enabled: true, host: '127.0.0.1', port: 9 } },
    }),
  );
  const gatewayPromise = startGateway(
    t,
    configFile,
    { LISTEN_FDS: '1', LISTEN_FDNAMES: 'metrics' },
    {
      // sh's pid is the daemon's: sh execs unshare, which execs node.
      wrap: (argv) => ['sh', '-c', 'export LISTEN_PID=$$; exec unshare -n "$@"', 'sh', ...argv],
      extraFds: [fd],
    },
  );
  // The daemon holds its own copy now; this one must not accept the scrapes.
  activation.close();
  const gateway = await gatewayPromise;
  const pid = gateway.child.pid!;

  t.not(netnsOf(pid), netnsOf(process.pid), 'the daemon has a network namespace of its own');
  t.same(interfacesOf(pid), ['lo'], 'with nothing in it but a loopback interface');
  t.ok(
    gateway.logs.some((line) => line.msg === 'metrics listening' && line.socketActivated === true),
    'metrics served on the passed-in socket',
  );

  const inbox = await collector(t, broker.url, ['atm/+/decision']);
  const pub = await publisher(t, broker.url);
  for (let i = 0; i < EVENTS; i++) {
    await pub.publishAsync('atm/U1/tx', JSON.stringify(atmEvent(`unix-${i}`)), { qos: 1 });
  }
  const replies = await inbox.waitFor(EVENTS);
  t.equal(replies.length, EVENTS, `${EVENTS} decisions came back`);
  t.ok(
    replies.every((r) => r.body.source === 'model' && r.body.reason === 'ok'),
    'each one from the model',
  );

  t.same(tcpSocketsOf(pid), [], 'the daemon holds no TCP socket in its namespace');
  const { probes } = (await inNamespaceOf(pid, [
    'probe',
    `127.0.0.1:${broker.port}`,
    '1.1.1.1:443',
    '192.168.1.1:1883',
    '2606:4700:4700::1111:443',
    '::1:1883',
  ])) as { probes: { address: string; result: string }[] };
  t.equal(probes.length, 5);
  for (const probe of probes) {
    // No interface is up: IPv4 has no route; IPv6 has not even a loopback address (EADDRNOTAVAIL).
    t.ok(
      ['ENETUNREACH', 'EADDRNOTAVAIL'].includes(probe.result),
      `TCP connect to ${probe.address} from the daemon's namespace fails (${probe.result})`,
    );
  }

  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const text = await scrape.text();
  t.match(
    text,
    new RegExp(
      `infergate_events_decided_total\\{pipeline="atm-risk",source="model",reason="ok"\\} ${EVENTS}\\n`,
    ),
    'the scrape from outside the namespace counts the decisions',
  );
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200, '/readyz through the socket');
});
