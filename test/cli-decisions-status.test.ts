/**
 * `infergate decisions` and `infergate status` on the state file and metrics listener of a real gateway:
 * filters, JSON lines, a row limit, --follow picking up new decisions; the status summary of the running
 * gateway, then of its state file once it has stopped (exit 69). As root with setpriv, also as a user who
 * is only in the state directory's group and may not write it: while the gateway runs and after it stopped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, atmPipeline, cliPath, sleep } from './helpers/gateway-process.js';
import { freePort, requireMosquitto } from './helpers/mosquitto.js';

const VALID = 12;
/** An unprivileged uid/gid for the group-reader check (Debian's nobody/nogroup). */
const NOBODY = 65534;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], asNobody = false): Run {
  const argv = [process.execPath, cliPath, ...args];
  const [command, ...rest] = asNobody
    ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv]
    : argv;
  const result = spawnSync(command!, rest, { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const canDropPrivileges =
  process.getuid?.() === 0 && spawnSync('setpriv', ['--version'], { encoding: 'utf8' }).status === 0;

/** What the units' StateDirectoryMode=0750 and UMask=0027 give: the group may read, nobody may write. */
function groupReadable(stateDir: string): void {
  // The test's temp dir is 0700 root: let others pass through it to the state dir.
  chmodSync(dirname(stateDir), 0o755);
  chownSync(stateDir, 0, NOBODY);
  chmodSync(stateDir, 0o750);
  for (const file of readdirSync(stateDir)) {
    chownSync(join(stateDir, file), 0, NOBODY);
    chmodSync(join(stateDir, file), 0o640);
  }
}

t.test('decisions: filters, --json, -n, --follow; status: running, then from the state file', async (t) => {
  if (!requireMosquitto(t)) return;
  const port = await freePort();
  const { dir, configFile, gateway, inbox, pub } = await startGatewayFixture(t, {
    collect: ['atm/+/decision'],
    config: {
      pipelines: [
        atmPipeline(),
        atmPipeline({ name: 'atm-eu', subscribe: 'eu/+/tx', publish: 'eu/{1}/decision' }),
      ],
      extra: { metrics: { enabled: true, host: '127.0.0.1', port } },
    },
  });
  const stateDir = join(dir, 'state');
  for (let i = 0; i < VALID; i++) {
    const topic = i % 3 === 0 ? 'eu/T1/tx' : 'atm/T1/tx';
    await pub.publishAsync(topic, JSON.stringify(atmEvent(`tx-${i}`, { amount: 30 + i * 120 })), { qos: 1 });
  }
  await pub.publishAsync('atm/T9/tx', JSON.stringify(atmEvent('bad-1', { amount: 'x' })), { qos: 1 });
  await pub.publishAsync('atm/T9/tx', 'not json', { qos: 1 });
  const replies = await inbox.waitFor(VALID + 2 - VALID / 3, 15_000);
  t.equal(replies.length, VALID + 2 - VALID / 3, 'the atm/+/decision answers');
  await sleep(500); // the eu decisions are not collected: give them a moment too

  const all = cli(['decisions', '--state', stateDir, '--json', '-n', '100']);
  t.equal(all.status, 0, all.stderr);
  const rows = jsonLines(all.stdout);
  t.equal(rows.length, VALID + 2, 'every decision');
  t.same(
    rows.map((r) => r.seq),
    [...rows.map((r) => r.seq as number)].sort((a, b) => a - b),
    'oldest first',
  );
  // A busy box may answer one by deadline fallback: look at a model decision.
  t.match(
    rows.find((r) => r.source === 'model'),
    {
      pipeline: String,
      id: String,
      topic: String,
      decision: String,
      source: 'model',
      reason: 'ok',
      score: Number,
      model: 'atm-risk',
      modelSha256: /^[0-9a-f]{64}$/,
      latencyMs: Number,
      budgetMs: 300,
      decidedAt: /^\d{4}-\d\d-\d\dT/,
    },
  );

  const eu = jsonLines(cli(['decisions', '--state', stateDir, '--json', '--pipeline', 'atm-eu']).stdout);
  t.equal(eu.length, VALID / 3, '--pipeline');
  t.ok(eu.every((r) => r.pipeline === 'atm-eu'));
  const fallbacks = jsonLines(
    cli(['decisions', '--state', stateDir, '--json', '--source', 'fallback']).stdout,
  );
  t.ok(
    fallbacks.every((r) => r.source === 'fallback'),
    '--source fallback',
  );
  t.same(
    fallbacks.filter((r) => r.reason === 'invalid_input').map((r) => r.topic),
    ['atm/T9/tx', 'atm/T9/tx'],
    'the two malformed events among them',
  );
  const invalid = jsonLines(
    cli(['decisions', '--state', stateDir, '--json', '--reason', 'invalid_input']).stdout,
  );
  t.equal(invalid.length, 2, '--reason');
  const lastFive = jsonLines(cli(['decisions', '--state', stateDir, '--json', '-n', '5']).stdout);
  t.same(
    lastFive.map((r) => r.seq),
    rows.slice(-5).map((r) => r.seq),
    '-n 5: the latest five',
  );
  t.equal(jsonLines(cli(['decisions', '--state', stateDir, '--json', '--since', '1h']).stdout).length, 14);
  const future = cli([
    'decisions',
    '--state',
    stateDir,
    '--since',
    new Date(Date.now() + 3_600_000).toISOString(),
  ]);
  t.equal(future.status, 0);
  t.equal(future.stdout, '', 'nothing decided in the future');
  t.match(future.stderr, /no decisions matching since/);
  t.equal(cli(['decisions', '--state', stateDir, '--since', 'yesterday-ish']).status, 64, 'a bad --since');

  const table = cli(['decisions', '-c', configFile, '--pipeline', 'atm-risk', '-n', '3']);
  t.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.equal(lines.length, 4, 'a header and three rows');
  t.match(lines[0], /^decided \(local\)\s+pipeline\s+id\s+decision\s+source\s+reason\s+score\s+latency$/);
  t.match(lines[3], /^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\s+atm-risk\s+\S+\s+\w+\s+(model|fallback)\s+\w+/);
  t.ok(
    lines.every((line) => line.length <= 100),
    'fits 100 columns',
  );

  // --follow: prints what is new, as it comes.
  const follow = spawn(process.execPath, [
    cliPath,
    'decisions',
    '--state',
    stateDir,
    '--json',
    '-n',
    '0',
    '--follow',
    '--pipeline',
    'atm-risk',
  ]);
  let followed = '';
  follow.stdout.setEncoding('utf8').on('data', (chunk: string) => (followed += chunk));
  const followExit = new Promise<number | null>((resolve) => follow.on('exit', (code) => resolve(code)));
  await sleep(1_500);
  for (let i = 0; i < 3; i++) {
    await pub.publishAsync('atm/T2/tx', JSON.stringify(atmEvent(`late-${i}`)), { qos: 1 });
  }
  for (let waited = 0; jsonLines(followed).length < 3 && waited < 10_000; waited += 100) await sleep(100);
  follow.kill('SIGINT');
  t.equal(await followExit, 0, '--follow ends cleanly on SIGINT');
  t.same(
    jsonLines(followed).map((r) => r.id),
    ['late-0', 'late-1', 'late-2'],
    '--follow printed exactly the new decisions',
  );

  const status = cli(['status', '-c', configFile]);
  t.equal(status.status, 0, status.stderr);
  t.match(status.stdout, /^gw-test: ready, infergate \S+, up \d+/);
  t.match(status.stdout, /broker: connected to mqtt:\/\/127\.0\.0\.1:\d+ as infergate-gw-test/);
  t.match(status.stdout, /\natm-risk\s+300 ms\s+\S+ ms\s+\S+ ms\s+(within|OVER)\s+\d+\s+.*invalid_input 2/);
  t.match(status.stdout, /\natm-eu\s+300 ms/);
  t.match(
    status.stdout,
    /dead letters: 2 since start \(IG_ERR_INPUT_FIELD_INVALID 1, IG_ERR_INPUT_NOT_JSON 1\)/,
  );
  t.match(status.stdout, /llm: no LLM pipeline/);
  t.ok(status.stdout.split('\n').length <= 25, 'one screen');
  const statusJson = JSON.parse(cli(['status', '-c', configFile, '--json']).stdout) as Record<
    string,
    unknown
  >;
  t.match(statusJson, { gateway: { id: 'gw-test', ready: true }, broker: { state: 'connected' } });

  if (canDropPrivileges) {
    groupReadable(stateDir);
    const reader = cli(['decisions', '--state', stateDir, '--json', '-n', '100'], true);
    t.equal(reader.status, 0, `a group member reads the live log: ${reader.stderr}`);
    t.equal(jsonLines(reader.stdout).length, VALID + 5);
  }

  gateway.kill('SIGTERM');
  t.equal((await gateway.exited).code, 0);
  const down = cli(['status', '-c', configFile]);
  t.equal(down.status, 69, 'exit 69: the gateway does not answer');
  t.match(
    down.stderr,
    /does not answer at http:\/\/127\.0\.0\.1:\d+\/status\.json \(ECONNREFUSED\); showing the state file/,
  );
  t.match(down.stdout, /^gw-test: NOT RUNNING/);
  t.match(down.stdout, /17 decisions recorded; 0 events undecided, 0 decisions not yet acknowledged/);
  t.match(down.stdout, /\natm-risk\s+\d+\s+/);
  t.equal(jsonLines(cli(['decisions', '--state', stateDir, '--json', '-n', '100']).stdout).length, VALID + 5);

  if (canDropPrivileges) {
    groupReadable(stateDir);
    const reader = cli(['decisions', '--state', stateDir, '--json', '-n', '100'], true);
    t.equal(reader.status, 0, `a group member reads a stopped gateway's log: ${reader.stderr}`);
    t.equal(jsonLines(reader.stdout).length, VALID + 5);
    chmodSync(stateDir, 0o700);
    const outsider = cli(['decisions', '--state', stateDir], true);
    t.equal(outsider.status, 66, 'outside the group: exit 66');
    t.match(outsider.stderr, /permission denied; .*docs\/install\.md/);
  } else {
    t.comment('not root or no setpriv: the group-reader checks were skipped');
  }
});

t.test('decisions on a state dir with no log: exit 66; status --url only to local addresses', async (t) => {
  const missing = cli(['decisions', '--state', '/nonexistent/state']);
  t.equal(missing.status, 66);
  t.match(missing.stderr, /no decision log at \/nonexistent\/state\/infergate\.db/);
  t.notMatch(missing.stderr, /at .*\.js:\d+/, 'no stack trace');
  const remote = cli(['status', '--url', 'http://8.8.8.8:9464/status.json']);
  t.equal(remote.status, 64, 'status --url to a public address is refused (no-egress guard)');
  t.match(remote.stderr, /8\.8\.8\.8 is not a local address/);
});
