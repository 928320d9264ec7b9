import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(packageRoot, 'dist', 'bin', 'infergate.js');

/** The environment without INFERGATE_* variables, so the host cannot change what the files say. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('INFERGATE_')),
);

function infergate(
  args: string[],
  cwd = packageRoot,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    env: cleanEnv,
    encoding: 'utf8',
    timeout: 30000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const BAD_YAML = `gateway:
  id: gw one
mqtt:
  protocolVersion: 6
  keepaliveSec: 0
  bogus: 1
models:
  m: { runtime: onnx, path: m.onnx, threads: 0 }
pipelines:
  - name: p
    subscribe: a/#/b
    publish: out
    model: nope
    budgetMs: 0
    fallback: review
    input: { fields: [x] }
    decide: { threshold: { bands: [{ min: 0.1, decision: a }, { min: 0.5, decision: b }], otherwise: c } }
`;

const BAD_PROBLEMS: [string, RegExp][] = [
  ['gateway.id', /must match/],
  ['mqtt.protocolVersion', /must be 4 or 5/],
  ['mqtt.keepaliveSec', /between 1 and 3600/],
  ['mqtt.bogus', /unknown key/],
  ['models.m.threads', /between 1 and 64/],
  ['pipelines[0].subscribe', /'#' must be the last/],
  ['pipelines[0].model', /names no model/],
  ['pipelines[0].budgetMs', /between 1 and 600000/],
  ['pipelines[0].decide.threshold.bands[1].min', /sorted/],
];

t.test('check-config on a bad file: exit 78, every problem on stderr, one per line', async (t) => {
  const dir = t.testdir({ 'bad.yaml': BAD_YAML });
  const { status, stdout, stderr } = infergate(['check-config', 'bad.yaml'], dir);
  t.equal(status, 78, 'EX_CONFIG');
  t.equal(stdout, '');
  const lines = stderr.trimEnd().split('\n');
  for (const [path, message] of BAD_PROBLEMS) {
    t.ok(
      lines.some((line) => line.startsWith(`bad.yaml: ${path}: `) && message.test(line)),
      `${path} reported`,
      { stderr },
    );
  }
  t.equal(lines.length, BAD_PROBLEMS.length + 1, 'one line per problem plus a summary');
  t.match(lines.at(-1), /bad\.yaml is invalid \(9 problems\)/);
});

t.test('check-config on good files: exit 0 and a one-line summary', async (t) => {
  for (const file of ['config/default.yaml', 'config/examples/mosquitto.yaml']) {
    const { status, stdout, stderr } = infergate(['check-config', file]);
    t.equal(status, 0, file);
    t.equal(stdout, `ok: ${file} (2 pipelines, 2 models)\n`);
    t.equal(stderr, '');
  }
});

t.test('check-config on a missing or unparsable file: exit 78 with a clear message', async (t) => {
  const missing = infergate(['check-config', 'nowhere/config.yaml']);
  t.equal(missing.status, 78);
  t.match(missing.stderr, /cannot read config file .*nowhere\/config\.yaml: no such file/);

  const dir = t.testdir({ 'broken.yaml': 'gateway:\n  id: [unclosed\n' });
  const broken = infergate(['check-config', 'broken.yaml'], dir);
  t.equal(broken.status, 78);
  t.match(broken.stderr, /not valid YAML:\n {2}line \d+, column \d+/);
});

t.test('run with an invalid config: exit 78 listing every problem, before any logging', async (t) => {
  const dir = t.testdir({ 'bad.yaml': BAD_YAML });
  const { status, stdout, stderr } = infergate(['run', '-c', 'bad.yaml'], dir);
  t.equal(status, 78);
  t.equal(stdout, '');
  for (const [path] of BAD_PROBLEMS) t.match(stderr, `bad.yaml: ${path}: `);
  const long = infergate(['run', '--config', 'missing.yaml'], dir);
  t.equal(long.status, 78);
  t.match(long.stderr, /no such file/);
});

t.test('usage errors exit 64', async (t) => {
  for (const args of [
    [],
    ['frobnicate'],
    ['check-config'],
    ['check-config', 'a.yaml', 'b.yaml'],
    ['run', '--bogus'],
    ['run', 'extra'],
    ['run', '-c'],
  ]) {
    const { status, stderr } = infergate(args);
    t.equal(status, 64, JSON.stringify(args));
    t.match(stderr, /usage: infergate/, `${JSON.stringify(args)}: usage shown`);
  }
  t.match(infergate(['frobnicate']).stderr, /unknown command 'frobnicate'/);
});

t.test('--help and --version', async (t) => {
  const help = infergate(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /infergate run \[-c\|--config FILE\]/);
  t.match(help.stdout, /infergate check-config FILE/);
  const commandHelp = infergate(['check-config', '--help']);
  t.equal(commandHelp.status, 0);
  t.match(commandHelp.stdout, /usage: infergate check-config FILE/);
  const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const shown = infergate(['--version']);
  t.equal(shown.status, 0);
  t.equal(shown.stdout, `${version}\n`);
});

t.test('the built CLI is directly executable', async (t) => {
  t.match(readFileSync(cli, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
