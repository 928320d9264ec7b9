/**
 * State files of earlier releases (the events table WITHOUT ROWID, keyed by pipeline and event id) are
 * rebuilt as a rowid table when the daemon opens them: every row and column as it was, in arrival order,
 * the chain still verifying and a redelivered id still recognised. Audit tools read them unmigrated.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import t from 'tap';
import { auditVerify } from '../bin/audit-command.js';
import { DecisionLogReader } from '../bin/decision-log-reader.js';
import { verifyChain } from '../daemon/state/audit-chain.js';
import { Inbox } from '../daemon/state/inbox.js';
import type { StateMigration } from '../daemon/state/migration.js';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { readShadowComparisons } from '../daemon/state/shadow-log.js';
import { tempDir } from './helpers/gateway-process.js';
import { inboxDecision, inboxEvent, inboxState } from './helpers/inbox-fixtures.js';
import { writeOldStateFile, type OldLayout } from './helpers/old-state-file.js';

/** Every row, every column but the new `id`, in key order. */
function rows(dir: string): Record<string, unknown>[] {
  const db = new Database(join(dir, INBOX_FILE), { readonly: true });
  try {
    return (
      db.prepare('SELECT * FROM events ORDER BY pipeline, event_id').all() as Record<string, unknown>[]
    ).map(({ id: _id, ...row }) => row);
  } finally {
    db.close();
  }
}

function layout(dir: string) {
  const db = new Database(join(dir, INBOX_FILE), { readonly: true });
  try {
    const table = db
      .prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events'`)
      .get() as {
      sql: string;
    };
    const withoutRowid = /WITHOUT ROWID/i.test(table.sql);
    return {
      withoutRowid,
      version: db.pragma('user_version', { simple: true }) as number,
      tables: (
        db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all() as {
          name: string;
        }[]
      ).map((r) => r.name),
      indexes: db
        .prepare(`SELECT name, "unique", partial FROM pragma_index_list('events') ORDER BY name`)
        .all(),
      arrival: withoutRowid
        ? []
        : (db.prepare('SELECT event_id FROM events ORDER BY id').all() as { event_id: string }[]).map(
            (r) => r.event_id,
          ),
      byReceivedAt: (
        db.prepare('SELECT event_id FROM events ORDER BY received_at').all() as { event_id: string }[]
      ).map((r) => r.event_id),
    };
  } finally {
    db.close();
  }
}

function auditVerifyOutput(dir: string): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = auditVerify(
    dir,
    sink((s) => (out += s)),
    sink((s) => (err += s)),
  );
  return { code, out, err };
}

for (const old of ['partial-seq-index', 'unique-seq-column'] as OldLayout[]) {
  t.test(`an old state file (${old}) reads as it is with the audit tools`, async (t) => {
    const dir = tempDir(t);
    const file = writeOldStateFile(dir, old);
    const before = rows(dir);

    const reader = Inbox.openReadOnly(dir);
    t.equal(reader.get('atm', 'tx-9d10')?.state, 'published', 'a row by its key');
    t.equal(reader.get('atm', 'tx-p1')?.state, 'pending');
    const result = verifyChain(reader.anchor(), reader.chain(reader.anchor().seq));
    t.same(
      { ok: result.ok, rows: result.rows, anchorSeq: result.anchorSeq, headSeq: result.headSeq },
      { ok: true, rows: file.headSeq - file.anchorSeq, anchorSeq: file.anchorSeq, headSeq: file.headSeq },
    );
    await reader.close();
    const verified = auditVerifyOutput(dir);
    t.equal(verified.code, 0, verified.err);
    t.match(verified.out, `ok: ${file.headSeq - file.anchorSeq} decision rows`);
    const decisions = DecisionLogReader.open(dir);
    t.equal(decisions.headSeq(), file.headSeq, 'infergate decisions reads it');
    t.equal(decisions.summary(10).pending, 2);

    t.same(layout(dir).withoutRowid, true, 'a read-only open does not migrate');
    t.same(rows(dir), before, 'nor change anything');
  });

  t.test(`an old state file (${old}) is rebuilt as a rowid table at open`, async (t) => {
    const dir = tempDir(t);
    const file = writeOldStateFile(dir, old);
    const before = rows(dir);
    const migrations: StateMigration[] = [];

    const inbox = Inbox.open(inboxState(dir), { keepInput: false, onMigrated: (m) => migrations.push(m) });
    t.equal(migrations.length, 1);
    t.match(migrations[0], { fromVersion: 1, toVersion: 2, rows: file.ids.length, ms: Number });
    await inbox.close();

    const after = layout(dir);
    t.equal(after.withoutRowid, false, 'a rowid table');
    t.equal(after.version, 2);
    t.notOk(after.tables.includes('events_without_rowid'), 'the old table is gone');
    t.same(after.arrival, after.byReceivedAt, 'rows are stored in arrival order');
    t.same(
      after.indexes,
      [
        { name: 'events_key', unique: 1, partial: 0 },
        ...(old === 'partial-seq-index' ? [{ name: 'events_seq', unique: 1, partial: 1 }] : []),
        { name: 'events_unfinished', unique: 0, partial: 1 },
        ...(old === 'unique-seq-column'
          ? [{ name: 'sqlite_autoindex_events_1', unique: 1, partial: 0 }]
          : []),
      ],
      'the key, the unfinished rows and the chain order are indexed',
    );
    t.same(rows(dir), before, 'every row and column as it was');

    const verified = auditVerifyOutput(dir);
    t.equal(verified.code, 0, verified.err);
    t.match(
      verified.out,
      `ok: ${file.headSeq - file.anchorSeq} decision rows from seq ${file.anchorSeq + 1} to ${file.headSeq}`,
    );

    const again = Inbox.open(inboxState(dir), { keepInput: false, onMigrated: (m) => migrations.push(m) });
    t.teardown(() => again.close());
    t.equal(migrations.length, 1, 'nothing to do the second time');
    for (const { pipeline, eventId } of file.ids) {
      t.equal(
        again.insert({ ...inboxEvent(eventId), pipeline }),
        false,
        `${pipeline}/${eventId} again is a redelivery`,
      );
    }
    t.equal(
      again.get('atm', 'tx-5e5e')?.message,
      '{"id":"tx-5e5e","decision":"reject"}',
      'its decision is on record',
    );
    t.same(
      again.unpublished().map((e) => e.eventId),
      ['tx-5e5e'],
      'the unacknowledged decision is still to publish',
    );
    t.same(
      again.pending().map((e) => e.eventId),
      ['tx-p1', 'tx-p2'],
      'the pending events, oldest first',
    );
    // A pending event of the old file is finished (as recovery does), and a new one comes after.
    t.equal(again.decide('atm', 'tx-p1', inboxDecision()), true);
    t.equal(again.insert(inboxEvent('new-1')), true);
    t.equal(again.decide('p', 'new-1', inboxDecision()), true);
    const chain = verifyChain(again.anchor(), again.chain(again.anchor().seq));
    t.same(
      { ok: chain.ok, headSeq: chain.headSeq },
      { ok: true, headSeq: file.headSeq + 2 },
      'the chain goes on',
    );
    if (old === 'partial-seq-index') {
      const db = new Database(join(dir, INBOX_FILE), { readonly: true });
      t.teardown(() => db.close());
      t.match(
        [...readShadowComparisons(db, 'atm', 0)],
        [{ eventId: 'tx-9d10', liveDecision: 'reject' }],
        'shadows still join',
      );
    }
  });
}

t.test('a migration that fails leaves the old file as it was', async (t) => {
  const dir = tempDir(t);
  writeOldStateFile(dir, 'partial-seq-index');
  // A column the new table does not have: copying it would fail, so nothing may change.
  const db = new Database(join(dir, INBOX_FILE));
  db.exec('ALTER TABLE events ADD COLUMN unknown_column TEXT');
  db.close();
  const before = rows(dir);
  t.throws(() => Inbox.open(inboxState(dir), { keepInput: false }), { code: 'IG_ERR_STATE_OPEN' });
  t.match(layout(dir), { withoutRowid: true, version: 1 });
  t.same(rows(dir), before);
});

t.test('a new state file is a rowid table from the start', async (t) => {
  const dir = tempDir(t);
  const migrations: StateMigration[] = [];
  const inbox = Inbox.open(inboxState(dir), { keepInput: false, onMigrated: (m) => migrations.push(m) });
  t.teardown(() => inbox.close());
  t.same(migrations, [], 'nothing to migrate');
  const after = layout(dir);
  t.same({ withoutRowid: after.withoutRowid, version: after.version }, { withoutRowid: false, version: 2 });
});
