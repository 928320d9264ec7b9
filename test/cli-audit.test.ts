import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { Inbox } from '../daemon/state/inbox.js';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { cliPath, tempDir } from './helpers/gateway-process.js';

async function seed(dir: string, n: number): Promise<void> {
  const inbox = Inbox.open({ dir, retentionHours: 1, synchronous: 'normal' }, { keepInput: false });
  for (let i = 0; i < n; i += 1) {
    inbox.insert({
      pipeline: 'atm-risk',
      eventId: `tx-${i}`,
      topic: 'atm/T1/tx',
      receivedAt: Date.UTC(2026, 10, 28, 10, 0, i),
      deadlineAt: Date.UTC(2026, 10, 28, 10, 0, i) + 300,
      expiresAt: null,
      responseTopic: null,
      correlation: null,
      payload: Buffer.from('{}'),
      inputSha256: 'ab'.repeat(32),
    });
    inbox.decide('atm-risk', `tx-${i}`, {
      decision: 'accept',
      source: 'model',
      reason: 'ok',
      model: 'atm-risk',
      modelSha256: 'cd'.repeat(32),
      latencyMs: 1.5,
      decidedAt: Date.UTC(2026, 10, 28, 10, 0, i) + 2,
      message: `{"id":"tx-${i}"}`,
      replyTopic: null,
    });
  }
  await inbox.close();
}

const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });

t.test(
  'audit verify: ok on an intact log, exit 1 naming the row once a row is edited or deleted',
  async (t) => {
    const dir = tempDir(t);
    await seed(dir, 12);
    const ok = cli('audit', 'verify', '--state', dir);
    t.equal(ok.status, 0, ok.stderr);
    t.match(ok.stdout, /^ok: 12 decision rows from seq 1 to 12; head [0-9a-f]{64}/);

    const db = new Database(join(dir, INBOX_FILE));
    db.prepare(`UPDATE events SET decision = 'reject' WHERE event_id = 'tx-3'`).run();
    db.prepare(`DELETE FROM events WHERE event_id = 'tx-8'`).run();
    db.close();
    const tampered = cli('audit', 'verify', '--state', dir);
    t.equal(tampered.status, 1);
    t.match(tampered.stderr, /seq 4: hash:/, 'the edited row');
    t.match(tampered.stderr, /seq 10: gap:/, 'the deleted row');
    t.match(tampered.stderr, /TAMPERED/);
  },
);

t.test('audit export --since prints the decisions as JSON lines', async (t) => {
  const dir = tempDir(t);
  await seed(dir, 5);
  const out = cli('audit', 'export', '--state', dir, '--since', '2026-11-28T10:00:03Z');
  t.equal(out.status, 0, out.stderr);
  const rows = out.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.same(
    rows.map((r) => r.id),
    ['tx-3', 'tx-4'],
  );
  t.match(rows[0], { seq: 4, decision: 'accept', hash: /^[0-9a-f]{64}$/, prevHash: /^[0-9a-f]{64}$/ });
  t.notOk('payload' in rows[0]!, 'no raw input');
});
