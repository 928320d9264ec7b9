/**
 * The chain's sequence index: a new state file gets a partial unique index (an insert leaves it alone), a
 * state file made with the older `seq INTEGER UNIQUE` column keeps that constraint and gets no second index.
 * The chain verifies either way.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { verifyChain } from '../daemon/state/audit-chain.js';
import { Inbox } from '../daemon/state/inbox.js';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { tempDir } from './helpers/gateway-process.js';
import { inboxDecision, inboxEvent, inboxState as state } from './helpers/inbox-fixtures.js';

function seqIndexes(dir: string): { name: string; partial: number; unique: number }[] {
  const db = new Database(join(dir, INBOX_FILE), { readonly: true });
  try {
    const indexes = db.prepare(`SELECT name, "unique", partial FROM pragma_index_list('events')`).all() as {
      name: string;
      unique: number;
      partial: number;
    }[];
    return indexes.filter(
      (index) =>
        (db.prepare(`SELECT name FROM pragma_index_info(?)`).all(index.name) as { name: string }[])[0]
          ?.name === 'seq',
    );
  } finally {
    db.close();
  }
}

function writeChain(inbox: Inbox, ids: string[]): void {
  for (const id of ids) {
    inbox.insert(inboxEvent(id));
    inbox.decide('p', id, inboxDecision());
  }
}

t.test('a new state file indexes seq only where it is set', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(state(dir), { keepInput: false });
  writeChain(inbox, ['e1', 'e2', 'e3']);
  await inbox.close();
  t.same(seqIndexes(dir), [{ name: 'events_seq', unique: 1, partial: 1 }]);
  const reader = Inbox.openReadOnly(dir);
  t.teardown(() => reader.close());
  const result = verifyChain(reader.anchor(), reader.chain(reader.anchor().seq));
  t.same({ ok: result.ok, rows: result.rows }, { ok: true, rows: 3 }, 'three rows verify');
});

t.test('a state file with the older UNIQUE column keeps it and gets no second index', async (t) => {
  const dir = tempDir(t);
  // The events table as state files made before the partial index have it.
  const db = new Database(join(dir, INBOX_FILE));
  db.exec(`CREATE TABLE events (
    pipeline TEXT NOT NULL, event_id TEXT NOT NULL, topic TEXT NOT NULL, received_at INTEGER NOT NULL,
    deadline_at INTEGER NOT NULL, response_topic TEXT, correlation BLOB, payload BLOB,
    input_sha256 TEXT NOT NULL, state TEXT NOT NULL, decision TEXT, source TEXT, reason TEXT, model TEXT,
    model_sha256 TEXT, latency_ms REAL, decided_at INTEGER, message TEXT, reply_topic TEXT,
    expires_at INTEGER, seq INTEGER UNIQUE, prev_hash TEXT, hash TEXT,
    PRIMARY KEY (pipeline, event_id)) WITHOUT ROWID`);
  db.close();

  const inbox = Inbox.open(state(dir), { keepInput: false });
  writeChain(inbox, ['e1', 'e2', 'e3']);
  await inbox.close();
  t.same(
    seqIndexes(dir).map((index) => ({ unique: index.unique, partial: index.partial })),
    [{ unique: 1, partial: 0 }],
    'only the old constraint',
  );
  const reader = Inbox.openReadOnly(dir);
  t.teardown(() => reader.close());
  const result = verifyChain(reader.anchor(), reader.chain(reader.anchor().seq));
  t.same({ ok: result.ok, rows: result.rows }, { ok: true, rows: 3 }, 'three rows verify');
});
