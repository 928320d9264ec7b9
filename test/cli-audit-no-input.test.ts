/**
 * `infergate audit verify|export` on a state dir that is missing, not a directory, holds no database,
 * cannot be read or is not a database: the reason on stderr, exit 66 (EX_NOINPUT), no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { cliPath, tempDir, testConfig, writeConfig } from './helpers/gateway-process.js';
import { unprivilegedCli } from './helpers/unprivileged-cli.js';

function audit(args: string[]) {
  const result = spawnSync(process.execPath, [cliPath, 'audit', ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function noStack(t: Test, stderr: string): void {
  t.notMatch(stderr, /internal error|\n\s+at /, 'no stack trace');
  t.equal(stderr.trimEnd().split('\n').length, 1, 'one line');
}

t.test('missing state dir: exit 66 naming it, for verify and export', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'no-such-state');
  for (const action of ['verify', 'export']) {
    const result = audit([action, '--state', missing]);
    t.equal(result.status, 66, `${action}: EX_NOINPUT`);
    t.match(result.stderr, `state directory ${missing}: no such directory`);
    t.equal(result.stdout, '');
    noStack(t, result.stderr);
  }
});

t.test('state dir from the config (-c) is missing: exit 66 too', async (t) => {
  const dir = tempDir(t);
  const config = writeConfig(dir, testConfig({ url: 'mqtt://127.0.0.1:1', stateDir: join(dir, 'gone') }));
  const result = audit(['verify', '-c', config]);
  t.equal(result.status, 66, result.stderr);
  t.match(result.stderr, join(dir, 'gone'));
  noStack(t, result.stderr);
});

t.test('not a directory, no database yet, not a database: exit 66 with the reason', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const notDir = audit(['verify', '--state', file]);
  t.equal(notDir.status, 66);
  t.match(notDir.stderr, /is not a directory/);
  noStack(t, notDir.stderr);

  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const noDb = audit(['export', '--state', empty]);
  t.equal(noDb.status, 66);
  t.match(noDb.stderr, `no decision log in ${empty}: ${INBOX_FILE} not found`);
  noStack(t, noDb.stderr);

  const garbage = join(dir, 'garbage');
  mkdirSync(garbage);
  writeFileSync(join(garbage, INBOX_FILE), 'not sqlite at all, just text long enough to be read as a header');
  const notDb = audit(['verify', '--state', garbage]);
  t.equal(notDb.status, 66);
  t.match(notDb.stderr, /cannot read the decision log .*not a database/);
  noStack(t, notDb.stderr);
});

t.test('unreadable state database: exit 66, permission denied', async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const state = join(dir, 'state');
  mkdirSync(state);
  writeFileSync(join(state, INBOX_FILE), '');
  chmodSync(join(state, INBOX_FILE), 0o000);
  chmodSync(state, 0o700);
  // The test runner's NODE_OPTIONS hooks write coverage files that user cannot: a bare environment.
  for (const action of ['verify', 'export']) {
    const result = unprivilegedCli(['audit', action, '--state', state]);
    t.equal(result.status, 66, `${action}: ${result.stderr}`);
    t.match(result.stderr, /permission denied/);
    noStack(t, result.stderr);
  }
});
