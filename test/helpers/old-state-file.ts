/**
 * State files as earlier releases wrote them (user_version 1: the events table WITHOUT ROWID, keyed by
 * pipeline and event id), written with those releases' schema and statements, for the migration tests.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chainHash, GENESIS_HASH } from '../../daemon/state/audit-chain.js';
import { INBOX_FILE } from '../../daemon/state/schema.js';

/** `seq INTEGER UNIQUE` came before the partial index on seq (and had no shadow table yet). */
export type OldLayout = 'partial-seq-index' | 'unique-seq-column';

function oldSchema(layout: OldLayout): string {
  const seq = layout === 'unique-seq-column' ? 'seq            INTEGER UNIQUE,' : 'seq            INTEGER,';
  return `
CREATE TABLE IF NOT EXISTS events (
  pipeline       TEXT    NOT NULL,
  event_id       TEXT    NOT NULL,
  topic          TEXT    NOT NULL,
  received_at    INTEGER NOT NULL,
  deadline_at    INTEGER NOT NULL,
  response_topic TEXT,
  correlation    BLOB,
  payload        BLOB,
  input_sha256   TEXT    NOT NULL,
  state          TEXT    NOT NULL,
  decision       TEXT,
  source         TEXT,
  reason         TEXT,
  model          TEXT,
  model_sha256   TEXT,
  latency_ms     REAL,
  decided_at     INTEGER,
  message        TEXT,
  reply_topic    TEXT,
  expires_at     INTEGER,
  ${seq}
  prev_hash      TEXT,
  hash           TEXT,
  PRIMARY KEY (pipeline, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_unfinished ON events(state) WHERE state <> 'published';
DROP INDEX IF EXISTS events_decided;
CREATE TABLE IF NOT EXISTS audit_anchor (
  seq       INTEGER PRIMARY KEY,
  hash      TEXT    NOT NULL,
  pruned_at INTEGER NOT NULL
);
PRAGMA user_version = 1;
${layout === 'partial-seq-index' ? 'CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(seq) WHERE seq IS NOT NULL;' : ''}
${
  layout === 'partial-seq-index'
    ? `CREATE TABLE IF NOT EXISTS shadow_decisions (
  pipeline TEXT NOT NULL, event_id TEXT NOT NULL, model TEXT NOT NULL, model_sha256 TEXT NOT NULL,
  decision TEXT NOT NULL, score REAL, latency_ms REAL NOT NULL, decided_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline, event_id)
) WITHOUT ROWID;`
    : ''
}`;
}

const DECIDE = `UPDATE events SET decision = ?, source = ?, reason = ?, model = ?, model_sha256 = ?,
  latency_ms = ?, decided_at = ?, message = ?, reply_topic = ?, seq = ?, prev_hash = ?, hash = ?,
  state = CASE WHEN ? IS NULL THEN 'published' ELSE 'decided' END, payload = NULL
  WHERE pipeline = ? AND event_id = ? AND state = 'pending'`;
const INSERT = `INSERT OR IGNORE INTO events (pipeline, event_id, topic, received_at, deadline_at, expires_at,
  response_topic, correlation, payload, input_sha256, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`;
const INSERT_DECIDED = `INSERT OR IGNORE INTO events (pipeline, event_id, topic, received_at, deadline_at,
  expires_at, response_topic, correlation, payload, input_sha256, state, decision, source, reason, model,
  model_sha256, latency_ms, decided_at, message, reply_topic, seq, prev_hash, hash)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 'published', ?, ?, ?, NULL, NULL, ?, ?, ?, NULL, ?, ?, ?)`;
const MARK_PUBLISHED = `UPDATE events SET state = 'published' WHERE pipeline = ? AND event_id = ? AND state = 'decided'`;

/** What an old file holds, for the checks after its migration. */
export interface OldStateFile {
  /** Every event id, by pipeline. */
  ids: { pipeline: string; eventId: string; state: 'pending' | 'decided' | 'published' }[];
  /** The first seq still in the file (the ones before were pruned behind an anchor). */
  anchorSeq: number;
  headSeq: number;
}

/**
 * Writes an old state file in `dir`: a chain of decisions (some published, some not, one decided on
 * arrival), two of them pruned behind an anchor, two events still pending, a shadow decision when the
 * layout had shadows. Arrival order differs from both id order and chain order.
 */
export function writeOldStateFile(dir: string, layout: OldLayout): OldStateFile {
  const db = new Database(join(dir, INBOX_FILE));
  db.pragma('journal_mode = WAL');
  db.exec(oldSchema(layout));
  const insert = db.prepare(INSERT);
  const decide = db.prepare(DECIDE);
  const insertDecided = db.prepare(INSERT_DECIDED);
  const markPublished = db.prepare(MARK_PUBLISHED);
  const t0 = Date.UTC(2026, 11, 1, 8, 0, 0);
  // [pipeline, id, arrival offset ms]; decided in this order, so seq follows the list, arrival does not.
  const decided: [string, string, number][] = [
    ['atm', 'tx-f3a9', 40],
    ['atm', 'tx-02bc', 10],
    ['cam', 'frame-77', 30],
    ['atm', 'tx-9d10', 20],
    ['cam', 'frame-12', 70],
    ['atm', 'tx-5e5e', 50],
    ['atm', 'tx-aa01', 60],
  ];
  let prevHash = GENESIS_HASH;
  let seq = 0;
  const link = (pipeline: string, eventId: string, receivedAt: number, d: Record<string, unknown>) => {
    seq += 1;
    const hash = chainHash(prevHash, {
      seq,
      pipeline,
      eventId,
      topic: `${pipeline}/T1`,
      receivedAt,
      inputSha256: 'ab'.repeat(32),
      decision: d.decision as string,
      source: d.source as string,
      reason: d.reason as string,
      modelSha256: d.modelSha256 as string | null,
      latencyMs: d.latencyMs as number,
      decidedAt: d.decidedAt as number,
      message: d.message as string,
    });
    const result = { seq, prevHash, hash };
    prevHash = hash;
    return result;
  };
  const ids: OldStateFile['ids'] = [];
  decided.forEach(([pipeline, eventId, offset], i) => {
    const receivedAt = t0 + offset;
    insert.run(
      pipeline,
      eventId,
      `${pipeline}/T1`,
      receivedAt,
      receivedAt + 300,
      null,
      'reply/x',
      Buffer.from(eventId),
      Buffer.from(`{"id":"${eventId}"}`),
      'ab'.repeat(32),
    );
    const d = {
      decision: i % 2 === 0 ? 'accept' : 'reject',
      source: 'model',
      reason: 'ok',
      modelSha256: 'cd'.repeat(32),
      latencyMs: 1.25 + i,
      decidedAt: receivedAt + 5 + i,
      message: `{"id":"${eventId}","decision":"${i % 2 === 0 ? 'accept' : 'reject'}"}`,
    };
    // The last decision went nowhere (no valid reply topic): published at once.
    const replyTopic = i === decided.length - 1 ? null : 'reply/x';
    const l = link(pipeline, eventId, receivedAt, d);
    decide.run(
      d.decision,
      d.source,
      d.reason,
      'm',
      d.modelSha256,
      d.latencyMs,
      d.decidedAt,
      d.message,
      replyTopic,
      l.seq,
      l.prevHash,
      l.hash,
      replyTopic,
      pipeline,
      eventId,
    );
    // The first five were acknowledged by the broker; the sixth was not.
    if (i < 5) markPublished.run(pipeline, eventId);
  });
  // Decided on arrival (invalid input).
  {
    const receivedAt = t0 + 5;
    const d = {
      decision: 'review',
      source: 'fallback',
      reason: 'invalid_input',
      modelSha256: null,
      latencyMs: 0.5,
      decidedAt: receivedAt + 1,
      message: '{"id":"tx-bad","reason":"invalid_input"}',
    };
    const l = link('atm', 'tx-bad', receivedAt, d);
    insertDecided.run(
      'atm',
      'tx-bad',
      'atm/T1',
      receivedAt,
      receivedAt + 300,
      null,
      null,
      null,
      'ab'.repeat(32),
      d.decision,
      d.source,
      d.reason,
      d.latencyMs,
      d.decidedAt,
      d.message,
      l.seq,
      l.prevHash,
      l.hash,
    );
  }
  for (const [eventId, offset] of [
    ['tx-p2', 80],
    ['tx-p1', 15],
  ] as const) {
    insert.run(
      'atm',
      eventId,
      'atm/T1',
      t0 + offset,
      t0 + offset + 300,
      null,
      'reply/x',
      null,
      Buffer.from(`{"id":"${eventId}"}`),
      'ab'.repeat(32),
    );
  }
  // Retention pruned the first two rows of the chain: the anchor is the second one's hash.
  const second = db.prepare('SELECT hash FROM events WHERE seq = 2').get() as { hash: string };
  db.prepare('INSERT INTO audit_anchor (seq, hash, pruned_at) VALUES (?, ?, ?)').run(
    2,
    second.hash,
    t0 + 1000,
  );
  db.prepare('DELETE FROM events WHERE seq > 0 AND seq <= 2').run();
  if (layout === 'partial-seq-index') {
    db.prepare(
      `INSERT OR IGNORE INTO shadow_decisions (pipeline, event_id, model, model_sha256, decision, score, latency_ms, decided_at)
       VALUES ('atm', 'tx-9d10', 'shadow', ?, 'accept', 0.2, 3.5, ?)`,
    ).run('ef'.repeat(32), t0 + 30);
  }
  for (const row of db.prepare('SELECT pipeline, event_id, state FROM events').all() as {
    pipeline: string;
    event_id: string;
    state: 'pending' | 'decided' | 'published';
  }[]) {
    ids.push({ pipeline: row.pipeline, eventId: row.event_id, state: row.state });
  }
  db.close();
  return { ids, anchorSeq: 2, headSeq: seq };
}
