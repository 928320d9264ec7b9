import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StateConfig } from '../config.js';
import { ErrorCodes, StateError } from '../errors.js';
import { SHADOW_SCHEMA } from './shadow-log.js';
import { WRITER_CHECKPOINT_FRAMES } from './wal-restarter.js';

/** The state database's file name in `state.dir`. */
export const INBOX_FILE = 'infergate.db';

/**
 * One row per (pipeline, event id), the decision log's hash chain in the same rows (seq, prev_hash, hash;
 * see audit-chain.ts), and the anchors retention leaves behind (see audit-log.ts).
 */
const SCHEMA = `
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
  seq            INTEGER,
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
`;

/**
 * The chain's order. Partial, so an insert (no seq yet) leaves it alone and a decision appends to its last
 * page: one page fewer per commit than the `seq INTEGER UNIQUE` column of state files made before it, which
 * keep that constraint (it needs a table rebuild to drop) and get no second index.
 */
const SEQ_INDEX = `CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(seq) WHERE seq IS NOT NULL`;

/**
 * Page cache per connection, KiB. better-sqlite3 builds SQLite with a 16,000 KiB default, and the cache
 * fills as the decision log grows, so RSS kept rising for many minutes at a low event rate. The hot pages
 * of this workload are the ends of the tables and indexes that inserts append to: a few MiB hold them.
 */
export const STATE_CACHE_KIB = 4096;

/** Opens (creating when needed) the state database for the daemon, the one writer. */
export function openStateDatabase(state: StateConfig): Database.Database {
  try {
    mkdirSync(state.dir, { recursive: true, mode: 0o700 });
    const db = new Database(join(state.dir, INBOX_FILE));
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (kill -9); FULL also survives power loss.
    db.pragma(`synchronous = ${state.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 2000');
    // Checkpoints (which copy pages and fsync) run on a worker thread, see WalCheckpointer and WalRestarter.
    db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_FRAMES}`);
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    db.pragma(`cache_size = -${STATE_CACHE_KIB}`);
    db.exec(SCHEMA);
    db.exec(SHADOW_SCHEMA);
    migrate(db);
    return db;
  } catch (error) {
    throw new StateError(ErrorCodes.STATE_OPEN, `cannot open the state database in ${state.dir}`, {
      cause: error,
    });
  }
}

/** Opens an existing state database read-only (audit tools; safe while the daemon runs, thanks to WAL). */
export function openStateDatabaseReadOnly(dir: string): Database.Database {
  const file = join(dir, INBOX_FILE);
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
    return db;
  } catch (error) {
    throw new StateError(ErrorCodes.STATE_OPEN, `cannot open the state database ${file}`, { cause: error });
  }
}

/** Brings a state file made by an earlier release up to date; a no-op on a current one. */
function migrate(db: Database.Database): void {
  const table = db
    .prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events'`)
    .get() as {
    sql: string;
  };
  if (!/\bseq\s+INTEGER\s+UNIQUE\b/i.test(table.sql)) db.exec(SEQ_INDEX);
}
