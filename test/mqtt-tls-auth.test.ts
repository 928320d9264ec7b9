/**
 * TLS and authentication against a Mosquitto started here with certificates generated here: server-auth
 * TLS and mutual TLS connect; an untrusted broker certificate (wrong CA) and a missing client certificate
 * are refused, each logged with its OpenSSL code and a hint naming the config keys to check. End to end,
 * `infergate run` over mTLS with the password from systemd's credentials directory answers an event, and
 * its logs never contain the password.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import { memoryLogger, mqttConfig, transportRoundTrip, waitFor } from './helpers/mqtt-fixtures.js';
import { freePort, requireMosquitto, startMosquitto } from './helpers/mosquitto.js';
import { makePki, requireOpenssl } from './helpers/tls-certs.js';
import {
  atmEvent,
  sleep,
  spawnGateway,
  startGateway,
  tempDir,
  testConfig,
  writeConfig,
} from './helpers/gateway-process.js';

const USER = 'infergate';
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-never-logged`;

if (requireMosquitto(t) && requireOpenssl(t)) {
  const pki = makePki(t);
  const passwd = join(pki.dir, 'passwd');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mosquitto_passwd', ['-c', '-b', passwd, USER, PASSWORD], { stdio: 'pipe' });
  execFileSync('chmod', ['0644', passwd]);
  const serverAuthPort = await freePort();
  const mutualPort = await freePort();
  const broker = await startMosquitto({
    extraConfig: [
      'allow_anonymous false',
      `password_file ${passwd}`,
      `listener ${serverAuthPort} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      `listener ${mutualPort} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      'require_certificate true',
    ],
  });
  t.teardown(() => broker.stop());
  const auth = { username: USER, password: PASSWORD };
  const tls = (overrides: Partial<{ ca: string; cert: string; key: string }>) => ({
    ca: null,
    cert: null,
    key: null,
    rejectUnauthorized: true,
    ...overrides,
  });

  const roundtrip = async (t: Test, url: string, tlsConfig: ReturnType<typeof tls>) => {
    const log = memoryLogger();
    const transport = createMqttTransport({
      logger: log.logger,
      config: mqttConfig({ url, ...auth, tls: tlsConfig }),
      statusTopic: 'infergate/tls/status',
    });
    t.equal(await transportRoundTrip(t, transport, 'tls/in', 'tls/in', 'hello'), 'hello');
  };

  t.test('server-auth TLS: the broker certificate is verified against mqtt.tls.ca', async (t) => {
    await roundtrip(t, `mqtts://127.0.0.1:${serverAuthPort}`, tls({ ca: pki.ca }));
  });

  t.test('mutual TLS: client certificate and key', async (t) => {
    await roundtrip(
      t,
      `mqtts://127.0.0.1:${mutualPort}`,
      tls({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }),
    );
  });

  const refused = async (url: string, tlsConfig: ReturnType<typeof tls>) => {
    const log = memoryLogger();
    const transport = createMqttTransport({
      logger: log.logger,
      config: mqttConfig({ url, ...auth, tls: tlsConfig }),
      statusTopic: 'infergate/tls/status',
    });
    let connected = false;
    const starting = transport.start([], () => undefined).then(() => (connected = true));
    await waitFor(() => log.find('mqtt connect failed').length >= 1, 'a failed attempt');
    await transport.stop();
    await starting.catch(() => undefined);
    return { failure: log.find('mqtt connect failed')[0]!, connected, log };
  };

  t.test('wrong CA: refused, with the OpenSSL code and a hint at mqtt.tls.ca', async (t) => {
    const { failure, connected } = await refused(
      `mqtts://127.0.0.1:${serverAuthPort}`,
      tls({ ca: pki.otherCa }),
    );
    t.equal(connected, false, 'never connected');
    t.equal(failure.level, 50, 'logged at error');
    t.match(
      failure.code,
      /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/,
    );
    t.match(failure.hint, /mqtt\.tls\.ca/);
  });

  t.test(
    'no client certificate on a require_certificate listener: refused, hint at mqtt.tls.cert',
    async (t) => {
      const { failure, connected } = await refused(`mqtts://127.0.0.1:${mutualPort}`, tls({ ca: pki.ca }));
      t.equal(connected, false, 'never connected');
      t.equal(failure.level, 50, 'logged at error');
      t.match(failure.code, /^ERR_SSL_/, `TLS alert from the broker (${String(failure.code)})`);
      t.match(failure.hint, /client certificate.*mqtt\.tls\.cert/);
    },
  );

  t.test('infergate run over mTLS, password from $CREDENTIALS_DIRECTORY: a decision flows', async (t) => {
    const dir = tempDir(t);
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials, { mode: 0o700 });
    writeFileSync(join(credentials, 'mqtt-password'), `${PASSWORD}\n`, { mode: 0o600 });
    const config = testConfig({ url: `mqtts://127.0.0.1:${mutualPort}`, stateDir: `${dir}/state` });
    Object.assign(config.mqtt as Record<string, unknown>, {
      username: USER,
      tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    });
    const gateway = await startGateway(t, writeConfig(dir, config), { CREDENTIALS_DIRECTORY: credentials });

    const client = await mqtt.connectAsync(broker.url, { ...auth, protocolVersion: 5, reconnectPeriod: 200 });
    t.teardown(() => client.endAsync(true));
    const decisions: Record<string, unknown>[] = [];
    client.on('message', (_topic, payload) => decisions.push(JSON.parse(payload.toString('utf8'))));
    await client.subscribeAsync('atm/+/decision', { qos: 1 });
    await client.publishAsync('atm/TLS/tx', JSON.stringify(atmEvent('tls-1')), { qos: 1 });
    await waitFor(() => decisions.length === 1, 'the decision');
    t.match(decisions[0], { id: 'tls-1', source: 'model', reason: 'ok' });

    gateway.kill('SIGTERM');
    await gateway.exited;
    t.notOk(JSON.stringify(gateway.logs).includes(PASSWORD), 'the password never appears in the logs');
  });

  t.test(
    'infergate run with the wrong CA: never ready, /readyz says why, the log names the fix',
    async (t) => {
      const dir = tempDir(t);
      const config = testConfig({
        url: `mqtts://127.0.0.1:${serverAuthPort}`,
        stateDir: `${dir}/state`,
        extra: { metrics: { enabled: true, host: '127.0.0.1', port: 0 } },
      });
      writeFileSync(join(dir, 'pw'), PASSWORD);
      Object.assign(config.mqtt as Record<string, unknown>, {
        username: USER,
        passwordFile: 'pw',
        tls: { ca: pki.otherCa },
      });
      const gateway = spawnGateway(writeConfig(dir, config));
      t.teardown(async () => {
        gateway.kill('SIGKILL');
        await gateway.exited;
      });
      const listening = await gateway.waitForLog((line) => line.msg === 'metrics listening');
      const failure = await gateway.waitForLog((line) => line.msg === 'mqtt connect failed');
      t.equal(failure.level, 50);
      t.match(failure.hint, /mqtt\.tls\.ca/);
      await sleep(300);
      const base = `http://127.0.0.1:${listening.port as number}`;
      t.equal((await fetch(`${base}/healthz`)).status, 200, 'alive');
      const ready = await fetch(`${base}/readyz`);
      t.equal(ready.status, 503, 'not ready');
      t.match(await ready.text(), /not ready: starting/);
      t.notOk(gateway.logs.some((line) => line.msg === 'gateway ready'));
      gateway.kill('SIGTERM');
      const exit = await gateway.exited;
      t.equal(exit.code, 0, 'a stop requested while still connecting is a clean stop');
      t.notOk(JSON.stringify(gateway.logs).includes(PASSWORD), 'the password never appears in the logs');
    },
  );
}
