import type Database from 'better-sqlite3';

/** `PRAGMA user_version` of a current state file: 2 since the events table has row ids. */
export const STATE_VERSION = 2;

/** How the chain's `seq` column is constrained (see SEQ_INDEX). */
export type SeqConstraint = 'partial-index' | 'unique-column';

/**
 * One row per (pipeline, event id), the decision log's hash chain in the same rows (seq, prev_hash, hash;
 * see audit-chain.ts). Rows are stored in arrival order under `id` (the rowid), so an event's insert, its
 * decision and its publish mark write the last few pages of the table; a table keyed by (pipeline, event
 * id), as before version 2, put every ~1 KB row on whichever leaf its id sorted to. The key is a unique
 * index (EVENTS_INDEXES) of small entries, and what makes INSERT OR IGNORE the redelivery check.
 */
export function eventsTable(name: string, seq: SeqConstraint): string {
  return `CREATE TABLE ${name} (
  id             INTEGER PRIMARY KEY,
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
  seq            INTEGER${seq === 'unique-column' ? ' UNIQUE' : ''},
  prev_hash      TEXT,
  hash           TEXT
)`;
}

export const EVENTS_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events(pipeline, event_id);
CREATE INDEX IF NOT EXISTS events_unfinished ON events(state) WHERE state <> 'published';
DROP INDEX IF EXISTS events_decided;
`;

/**
 * The chain's order. Partial, so an insert (no seq yet) leaves it alone and a decision appends to its last
 * page: one page fewer per commit than the `seq INTEGER UNIQUE` column of state files made before it, which
 * keep that constraint (the version 2 rebuild changes their key, nothing else) and get no second index.
 */
export const SEQ_INDEX = `CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(seq) WHERE seq IS NOT NULL`;

/** The events table's definition as the file has it; undefined in a new file. */
export function eventsTableSql(db: Database.Database): string | undefined {
  const row = db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events'`).get() as
    { sql: string } | undefined;
  return row?.sql;
}

/** True for an events table before version 2: WITHOUT ROWID, keyed by (pipeline, event id). */
export function isKeyedTable(sql: string): boolean {
  return /\bWITHOUT\s+ROWID\s*$/i.test(sql);
}

/** How an events table's definition constrains `seq` (see SEQ_INDEX). */
export function seqConstraint(sql: string | undefined): SeqConstraint {
  return sql !== undefined && /\bseq\s+INTEGER\s+UNIQUE\b/i.test(sql) ? 'unique-column' : 'partial-index';
}

/** False for a file whose events table an earlier release made (see isKeyedTable). */
export function eventsHaveRowIds(db: Database.Database): boolean {
  const sql = eventsTableSql(db);
  return sql !== undefined && !isKeyedTable(sql);
}
