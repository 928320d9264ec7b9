import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StateConfig } from '../config.js';
import { ErrorCodes, StateError } from '../errors.js';
import { migrateEvents, type StateMigration } from './migration.js';
import { SHADOW_SCHEMA } from './shadow-log.js';
import { WRITER_CHECKPOINT_FRAMES } from './wal-restarter.js';

/** The state database's file name in `state.dir`. */
export const INBOX_FILE = 'infergate.db';

/** The anchors retention leaves behind (see audit-log.ts). */
const ANCHOR_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_anchor (
  seq       INTEGER PRIMARY KEY,
  hash      TEXT    NOT NULL,
  pruned_at INTEGER NOT NULL
);
`;

/**
 * Page cache per connection, KiB. better-sqlite3 builds SQLite with a 16,000 KiB default, and the cache
 * fills as the decision log grows, so RSS kept rising for many minutes at a low event rate. The hot pages
 * of this workload are the ends of the tables and indexes that inserts append to: a few MiB hold them.
 */
export const STATE_CACHE_KIB = 4096;

/**
 * Opens (creating when needed) the state database for the daemon, the one writer. A state file made by an
 * earlier release is brought up to date first; `onMigrated` hears how long that took.
 */
export function openStateDatabase(
  state: StateConfig,
  onMigrated?: (migration: StateMigration) => void,
): Database.Database {
  let db: Database.Database | undefined;
  try {
    mkdirSync(state.dir, { recursive: true, mode: 0o700 });
    db = new Database(join(state.dir, INBOX_FILE));
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (kill -9); FULL also survives power loss.
    db.pragma(`synchronous = ${state.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 2000');
    // Checkpoints (which copy pages and fsync) run on a worker thread, see WalCheckpointer and WalRestarter.
    db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_FRAMES}`);
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    db.pragma(`cache_size = -${STATE_CACHE_KIB}`);
    const migration = migrateEvents(db);
    db.exec(ANCHOR_SCHEMA);
    db.exec(SHADOW_SCHEMA);
    if (migration !== undefined) onMigrated?.(migration);
    return db;
  } catch (error) {
    db?.close();
    throw new StateError(ErrorCodes.STATE_OPEN, `cannot open the state database in ${state.dir}`, {
      cause: error,
    });
  }
}

/**
 * Opens an existing state database read-only (audit tools; safe while the daemon runs, thanks to WAL). It
 * does not migrate: a file an earlier release left reads as it is (see `eventsHaveRowIds` in events-table.ts).
 */
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
