/**
 * Throw-away PKI for the TLS tests (openssl, EC P-256, valid one day): a CA, an unrelated second CA, a
 * server certificate for localhost/127.0.0.1 and a client certificate, both signed by the first CA.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export interface TestPki {
  dir: string;
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Skips the test without openssl locally; fails it under CI. Returns whether to go on. */
export function requireOpenssl(t: Test): boolean {
  if (opensslAvailable()) return true;
  if (process.env.CI) t.fail('openssl not found; CI must not skip the TLS tests');
  else t.plan(0, 'openssl not found');
  return false;
}

function selfSigned(dir: string, name: string, subject: string): void {
  openssl(
    ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', subject],
    dir,
  );
}

function signed(dir: string, name: string, subject: string, extensions: string): void {
  openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    ]),
    dir,
  );
}

export function makePki(t: { teardown(fn: () => void): void }): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  selfSigned(dir, 'ca', '/CN=infergate test CA');
  selfSigned(dir, 'other-ca', '/CN=some other CA');
  signed(dir, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  signed(dir, 'client', '/CN=infergate', 'extendedKeyUsage=clientAuth');
  // Started as root, Mosquitto reads them as the `mosquitto` user.
  chmodSync(dir, 0o755);
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other-ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}
