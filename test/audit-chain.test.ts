import Database from 'better-sqlite3';
import { join } from 'node:path';
import t from 'tap';
import { verifyChain } from '../daemon/state/audit-chain.js';
import { AUDIT_SEGMENT_ROWS } from '../daemon/state/audit-log.js';
import { Inbox } from '../daemon/state/inbox.js';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { tempDir } from './helpers/gateway-process.js';

const state = (dir: string) => ({ dir, retentionHours: 1, synchronous: 'normal' as const });

function fill(inbox: Inbox, n: number, publish = true): void {
  for (let i = 0; i < n; i += 1) {
    inbox.insert({
      pipeline: 'p',
      eventId: `e${i}`,
      topic: 'atm/T1/tx',
      receivedAt: 1_000 + i,
      deadlineAt: 1_300 + i,
      expiresAt: null,
      responseTopic: null,
      correlation: null,
      payload: Buffer.from(`{"id":"e${i}"}`),
      inputSha256: 'ab'.repeat(32),
    });
    inbox.decide('p', `e${i}`, {
      decision: i % 3 === 0 ? 'reject' : 'accept',
      source: 'model',
      reason: 'ok',
      model: 'm',
      modelSha256: 'cd'.repeat(32),
      latencyMs: 0.25 * i,
      decidedAt: 2_000 + i,
      message: `{"id":"e${i}"}`,
      replyTopic: 'out/x',
    });
    if (publish) inbox.markPublished('p', `e${i}`);
  }
}

function verify(dir: string) {
  const inbox = Inbox.openReadOnly(dir);
  try {
    return verifyChain(inbox.anchor(), inbox.chain(inbox.anchor().seq));
  } finally {
    void inbox.close();
  }
}

t.test('an untouched log verifies, and the chain continues across a reopen', async (t) => {
  const dir = tempDir(t);
  const first = Inbox.open(state(dir), { keepInput: false });
  fill(first, 10);
  await first.close();
  const second = Inbox.open(state(dir), { keepInput: false });
  second.insert({
    pipeline: 'p',
    eventId: 'after-restart',
    topic: 't',
    receivedAt: 5_000,
    deadlineAt: 5_300,
    expiresAt: null,
    responseTopic: null,
    correlation: null,
    payload: Buffer.from('{}'),
    inputSha256: 'ef'.repeat(32),
  });
  second.decide('p', 'after-restart', {
    decision: 'accept',
    source: 'model',
    reason: 'ok',
    model: 'm',
    modelSha256: null,
    latencyMs: 1,
    decidedAt: 5_001,
    message: '{}',
    replyTopic: null,
  });
  await second.close();
  const result = verify(dir);
  t.ok(result.ok, 'verifies');
  t.equal(result.rows, 11);
  t.equal(result.headSeq, 11);
});

t.test('an edited row is detected', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(state(dir), { keepInput: false });
  fill(inbox, 20);
  await inbox.close();
  const db = new Database(join(dir, INBOX_FILE));
  db.prepare(`UPDATE events SET decision = 'accept' WHERE event_id = 'e9'`).run();
  db.close();
  const result = verify(dir);
  t.notOk(result.ok);
  t.match(result.problems, [{ seq: 10, kind: 'hash' }], 'the edited row is named');
});

t.test('a deleted row is detected', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(state(dir), { keepInput: false });
  fill(inbox, 20);
  await inbox.close();
  const db = new Database(join(dir, INBOX_FILE));
  db.prepare(`DELETE FROM events WHERE event_id = 'e4'`).run();
  db.close();
  const result = verify(dir);
  t.notOk(result.ok);
  t.match(
    result.problems,
    [
      { seq: 6, kind: 'gap' },
      { seq: 6, kind: 'link' },
    ],
    'the gap after it is named',
  );
});

t.test('a row re-hashed to hide an edit still breaks the next link', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(state(dir), { keepInput: false });
  fill(inbox, 5);
  await inbox.close();
  const db = new Database(join(dir, INBOX_FILE));
  db.prepare(`UPDATE events SET decision = 'accept', hash = '${'f'.repeat(64)}' WHERE seq = 3`).run();
  db.close();
  const result = verify(dir);
  t.notOk(result.ok);
  t.match(result.problems, [
    { seq: 3, kind: 'hash' },
    { seq: 4, kind: 'link' },
  ]);
});

t.test('retention pruning leaves a chain that still verifies from its anchor', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(state(dir), { keepInput: false });
  fill(inbox, AUDIT_SEGMENT_ROWS + 50);
  t.equal(inbox.prune(Number.MAX_SAFE_INTEGER), AUDIT_SEGMENT_ROWS);
  await inbox.close();
  const result = verify(dir);
  t.ok(result.ok, 'verifies after pruning');
  t.equal(result.anchorSeq, AUDIT_SEGMENT_ROWS);
  t.equal(result.rows, 50);
});
