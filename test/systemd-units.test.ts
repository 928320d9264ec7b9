/**
 * The shipped units: `systemd-analyze verify` accepts them, and `systemd-analyze security --offline=yes`
 * scores the LAN unit at most 2.0 and the no-network unit at most 1.0 — also with the broker-network
 * drop-in applied. Skipped (with a message) where systemd-analyze is missing, failed under CI.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot, tempDir } from './helpers/gateway-process.js';

const unitsDir = join(packageRoot, 'systemd');
const LAN_MAX_EXPOSURE = 2.0;
const LOCAL_MAX_EXPOSURE = 1.0;

function analyze(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('systemd-analyze', args, { cwd, encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function available(): boolean {
  return spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Copies the units into `dir`, where ExecStart's node is the one running the tests (verify checks it). */
function stageUnits(dir: string, names: string[]): void {
  for (const name of names) {
    const text = readFileSync(join(unitsDir, name), 'utf8');
    writeFileSync(join(dir, name), text.replaceAll('/usr/bin/node ', `${process.execPath} `));
  }
}

function exposure(output: string): number {
  const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  if (match === null) throw new Error(`no overall exposure in:\n${output}`);
  return Number(match[1]);
}

function directives(name: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(join(unitsDir, name), 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

t.test('the units say what the issue asks for', async (t) => {
  for (const name of ['infergate.service', 'infergate-local.service']) {
    const unit = directives(name);
    const one = (key: string) => unit.get(key)?.at(-1);
    t.equal(one('Type'), 'notify', `${name}: Type=notify`);
    t.equal(one('NotifyAccess'), 'main', `${name}: only the main process notifies`);
    t.match(one('WatchdogSec'), /^\d+/, `${name}: WatchdogSec`);
    t.equal(one('Restart'), 'on-failure', `${name}: Restart=on-failure`);
    t.equal(one('RestartPreventExitStatus'), '78', `${name}: no restart on a config error`);
    t.match(one('ExecReload'), /kill -HUP \$MAINPID/, `${name}: ExecReload sends SIGHUP`);
    t.match(
      one('ExecStart'),
      /^\/usr\/bin\/node \S+infergate\.js run/,
      `${name}: node runs the daemon itself`,
    );
    t.equal(one('User'), 'infergate', `${name}: dedicated user`);
    t.ok(one('StateDirectory')?.startsWith('infergate'), `${name}: StateDirectory`);
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['IPAddressDeny', 'any'],
    ]) {
      t.equal(one(key!), value, `${name}: ${key}=${value}`);
    }
    t.ok(
      unit.get('SystemCallFilter')?.includes('@system-service'),
      `${name}: SystemCallFilter=@system-service`,
    );
    t.match(one('MemoryMax'), /^\d+[KMG]$/, `${name}: MemoryMax`);
    t.notOk(unit.has('MemoryDenyWriteExecute'), `${name}: no MemoryDenyWriteExecute (breaks V8)`);
    t.match(one('LoadCredential'), /^mqtt-password:\/etc\/infergate\/mqtt-password$/, `${name}: credential`);
  }
  const lan = directives('infergate.service');
  t.equal(lan.get('RestrictAddressFamilies')?.at(-1), 'AF_UNIX AF_INET AF_INET6');
  t.equal(lan.get('IPAddressAllow')?.at(-1), 'localhost');
  const local = directives('infergate-local.service');
  t.equal(local.get('PrivateNetwork')?.at(-1), 'yes');
  t.equal(local.get('RestrictAddressFamilies')?.at(-1), 'AF_UNIX');
  t.notOk(local.has('IPAddressAllow'), 'the local unit allows no address at all');
  const socket = directives('infergate-local.socket');
  t.equal(socket.get('FileDescriptorName')?.at(-1), 'metrics', 'the daemon finds the socket by this name');
  t.equal(socket.get('ListenStream')?.at(-1), '127.0.0.1:9464');
});

t.test('install.sh is valid bash', async (t) => {
  const result = spawnSync('bash', ['-n', join(unitsDir, 'install.sh')], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
});

t.test('systemd-analyze verify and security --offline', async (t) => {
  if (!available()) {
    if (process.env.CI) t.fail('systemd-analyze not found; CI must not skip the unit checks');
    else t.plan(0, 'systemd-analyze not found (apt-get install systemd)');
    return;
  }
  const dir = tempDir(t);
  const units = ['infergate.service', 'infergate-local.service', 'infergate-local.socket'];
  stageUnits(dir, units);

  for (const unit of units) {
    const { status, output } = analyze(['verify', `./${unit}`], dir);
    t.equal(status, 0, `verify ${unit}`);
    t.equal(output.trim(), '', `verify ${unit} has nothing to say`);
  }

  const lan = exposure(analyze(['security', '--offline=yes', './infergate.service'], dir).output);
  t.ok(lan <= LAN_MAX_EXPOSURE, `infergate.service exposure ${lan} ≤ ${LAN_MAX_EXPOSURE}`);
  const local = exposure(analyze(['security', '--offline=yes', './infergate-local.service'], dir).output);
  t.ok(local <= LOCAL_MAX_EXPOSURE, `infergate-local.service exposure ${local} ≤ ${LOCAL_MAX_EXPOSURE}`);

  // The drop-in install.sh --broker-net writes, read from next to the unit.
  const withDropIn = join(dir, 'lan');
  mkdirSync(join(withDropIn, 'infergate.service.d'), { recursive: true });
  copyFileSync(join(dir, 'infergate.service'), join(withDropIn, 'infergate.service'));
  writeFileSync(
    join(withDropIn, 'infergate.service.d', 'broker-network.conf'),
    '[Service]\nIPAddressAllow=192.168.10.0/24\n',
  );
  t.equal(analyze(['verify', './infergate.service'], withDropIn).status, 0, 'verify with the drop-in');
  const review = analyze(['security', '--offline=yes', './infergate.service'], withDropIn).output;
  t.match(review, /allow list with non-localhost entries/, 'the drop-in was applied');
  const lanWithNet = exposure(review);
  t.ok(
    lanWithNet <= LAN_MAX_EXPOSURE,
    `with the broker network: exposure ${lanWithNet} ≤ ${LAN_MAX_EXPOSURE}`,
  );
  t.ok(existsSync(join(unitsDir, 'infergate.sysusers')), 'sysusers file shipped');
});
