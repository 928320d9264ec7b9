/** `infergate shadow report` on a state file with live and shadow decisions. */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { Inbox } from '../daemon/state/inbox.js';
import { cliPath, tempDir } from './helpers/gateway-process.js';

const BASE = Date.UTC(2026, 10, 28, 10, 0, 0);
const SHADOW_SHA = 'ee'.repeat(32);

/** 10 events: live accept ×6, review ×3 (one of them a fallback), reject ×1; the shadow differs on two. */
const EVENTS: [live: string, source: string, shadow: string | null][] = [
  ['accept', 'model', 'accept'],
  ['accept', 'model', 'accept'],
  ['accept', 'model', 'accept'],
  ['accept', 'model', 'accept'],
  ['accept', 'model', 'review'],
  ['accept', 'model', null],
  ['review', 'model', 'review'],
  ['review', 'model', 'reject'],
  ['review', 'fallback', 'accept'],
  ['reject', 'model', 'reject'],
];

async function seed(dir: string): Promise<void> {
  const inbox = Inbox.open({ dir, retentionHours: 1, synchronous: 'normal' }, { keepInput: false });
  EVENTS.forEach(([live, source, shadow], i) => {
    const at = BASE + i * 1000;
    inbox.insert({
      pipeline: 'atm-risk',
      eventId: `tx-${i}`,
      topic: 'atm/T1/tx',
      receivedAt: at,
      deadlineAt: at + 300,
      expiresAt: null,
      responseTopic: null,
      correlation: null,
      payload: Buffer.from('{}'),
      inputSha256: 'ab'.repeat(32),
    });
    inbox.decide('atm-risk', `tx-${i}`, {
      decision: live,
      source: source as 'model' | 'fallback',
      reason: source === 'model' ? 'ok' : 'deadline',
      model: 'atm-risk',
      modelSha256: 'cd'.repeat(32),
      latencyMs: 2 + i,
      decidedAt: at + 2,
      message: `{"id":"tx-${i}"}`,
      replyTopic: null,
    });
    if (shadow !== null) {
      inbox.recordShadow({
        pipeline: 'atm-risk',
        eventId: `tx-${i}`,
        model: 'atm-risk-student',
        modelSha256: SHADOW_SHA,
        decision: shadow,
        score: 0.5,
        latencyMs: 1 + i / 10,
        decidedAt: at + 3,
      });
    }
  });
  await inbox.close();
}

const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });

t.test('agreement, confusion and latency per label, as JSON and as text', async (t) => {
  const dir = tempDir(t);
  await seed(dir);
  const json = cli('shadow', 'report', '--state', dir, '--pipeline', 'atm-risk', '--json');
  t.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout) as {
    shadows: Record<string, unknown>[];
  };
  t.equal(report.shadows.length, 1);
  const s = report.shadows[0]!;
  t.match(s, {
    model: 'atm-risk-student',
    sha256: SHADOW_SHA,
    shadowed: 9,
    compared: 8,
    agreed: 6,
    agreement: 0.75,
    liveFallbacks: 1,
    liveMissing: 0,
    confusion: { accept: { accept: 4, review: 1 }, review: { review: 1, reject: 1 }, reject: { reject: 1 } },
  });
  const labels = s.labels as {
    label: string;
    live: number;
    agreed: number;
    liveLatency: { p50Ms: number };
  }[];
  t.same(
    labels.map((l) => [l.label, l.live, l.agreed]),
    [
      ['accept', 5, 4],
      ['reject', 1, 1],
      ['review', 2, 1],
    ],
  );
  t.equal(labels[0]!.liveLatency.p50Ms, 4, 'live p50 of the accepts (2..6 ms)');
  t.match(s.latency, { live: { p50Ms: 5, p99Ms: 11 }, shadow: { p50Ms: 1.3, p99Ms: 1.9 } });

  const text = cli('shadow', 'report', '--state', dir, '--pipeline', 'atm-risk');
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /agreement 75\.0 % \(6 of 8\)/);
  t.match(text.stdout, /not compared: 1 live fallbacks/);
  t.match(text.stdout, /confusion \(rows: live, columns: shadow\)/);

  const since = cli(
    'shadow',
    'report',
    '--state',
    dir,
    '--pipeline',
    'atm-risk',
    '--json',
    '--since',
    new Date(BASE + 6500).toISOString(),
  );
  t.match(JSON.parse(since.stdout), { shadows: [{ shadowed: 3, compared: 2 }] }, '--since');

  const other = cli('shadow', 'report', '--state', dir, '--pipeline', 'nope');
  t.match(other.stdout, /no shadow decisions on record/);
  t.equal(cli('shadow', 'report', '--state', dir).status, 64, '--pipeline is required');
});
