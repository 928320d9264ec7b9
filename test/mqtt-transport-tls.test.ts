/**
 * mqtts:// against a Mosquitto TLS listener with a throw-away CA: connects with the CA, logs the TLS
 * error code without it, and refuses to start at once when a configured file cannot be read.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import { memoryLogger, mqttConfig, transportRoundTrip, waitFor } from './helpers/mqtt-fixtures.js';
import { freePort, requireMosquitto, startMosquitto } from './helpers/mosquitto.js';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA and a server certificate for 127.0.0.1/localhost, valid for a day. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=infergate test CA',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    ]),
    dir,
  );
  // Started as root, Mosquitto reads them as the `mosquitto` user.
  chmodSync(dir, 0o755);
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

if (requireMosquitto(t)) {
  if (!opensslAvailable()) {
    if (process.env.CI) t.fail('openssl not found; CI must not skip the TLS tests');
    else t.plan(0, 'openssl not found');
  } else {
    const certDir = mkdtempSync(join(tmpdir(), 'infergate-tls-'));
    t.teardown(() => rmSync(certDir, { recursive: true, force: true }));
    const files = makeCertificates(certDir);
    const tlsPort = await freePort();
    const broker = await startMosquitto({
      extraConfig: [
        `listener ${tlsPort} 127.0.0.1`,
        `cafile ${files.ca}`,
        `certfile ${files.cert}`,
        `keyfile ${files.key}`,
      ],
    });
    t.teardown(() => broker.stop());
    const url = `mqtts://127.0.0.1:${tlsPort}`;
    const noTls = { ca: null, cert: null, key: null, rejectUnauthorized: true };

    t.test('connects with the CA, and messages flow', async (t) => {
      const log = memoryLogger();
      const transport = createMqttTransport({
        logger: log.logger,
        config: mqttConfig({ url, clientId: 'tls-ok', tls: { ...noTls, ca: files.ca } }),
        statusTopic: 'infergate/tls-ok/status',
      });
      t.equal(await transportRoundTrip(t, transport, 'tls/in', 'tls/in', 'over tls'), 'over tls');
    });

    t.test('without the CA: the certificate error is logged with its code, and retried', async (t) => {
      const log = memoryLogger();
      const transport = createMqttTransport({
        logger: log.logger,
        config: mqttConfig({ url, clientId: 'tls-untrusted' }),
        statusTopic: 'infergate/tls-untrusted/status',
      });
      const starting = transport.start([], () => undefined);
      await waitFor(() => log.find('mqtt connect failed').length >= 2, 'two failed attempts');
      const failure = log.find('mqtt connect failed')[0]!;
      t.equal(failure.level, 50, 'logged at error');
      t.match(
        failure.code,
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/,
      );
      t.match(failure.hint, /mqtt\.tls\.ca/);
      await transport.stop();
      await t.rejects(starting, { code: 'IG_ERR_MQTT_CONNECT' });
    });

    t.test('an unreadable TLS file fails start() at once, naming the file', async (t) => {
      const log = memoryLogger();
      const missing = join(certDir, 'no-such-ca.crt');
      const transport = createMqttTransport({
        logger: log.logger,
        config: mqttConfig({ url, clientId: 'tls-missing', tls: { ...noTls, ca: missing } }),
        statusTopic: 'infergate/tls-missing/status',
      });
      const started = Date.now();
      await t.rejects(
        transport.start([], () => undefined),
        {
          code: 'IG_ERR_MQTT_CONNECT',
          retryable: false,
          message: new RegExp(
            `mqtt\\.tls\\.ca file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`,
          ),
        },
      );
      t.ok(Date.now() - started < 1_000, 'without connect attempts');
      t.equal(log.find('mqtt connecting').length, 0);
      await transport.stop();
    });
  }
}
