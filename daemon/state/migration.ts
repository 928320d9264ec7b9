import type Database from 'better-sqlite3';
import {
  EVENTS_INDEXES,
  SEQ_INDEX,
  STATE_VERSION,
  eventsTable,
  eventsTableSql,
  isKeyedTable,
  seqConstraint,
  type SeqConstraint,
} from './events-table.js';

/** What bringing an earlier release's state file up to date did (the caller logs it). */
export interface StateMigration {
  /** The user_version the file had. */
  fromVersion: number;
  toVersion: number;
  /** Rows copied into the new events table. */
  rows: number;
  /** How long it took, checkpoint included, ms. */
  ms: number;
}

/** Where the events table of an earlier release waits while its rows are copied. */
const OLD_TABLE = 'events_without_rowid';

/**
 * Creates the events table and its indexes, or brings a file an earlier release made up to date, in one
 * transaction: a failure (a full disk) leaves the file as it was. Returns undefined when no rows had to be
 * moved. Before version 2, the table was WITHOUT ROWID keyed by (pipeline, event id); it is rebuilt as a
 * rowid table (see eventsTable), every row and column copied as they are, so the hash chain still verifies
 * and a redelivered id is still recognised.
 */
export function migrateEvents(db: Database.Database): StateMigration | undefined {
  const started = performance.now();
  const fromVersion = db.pragma('user_version', { simple: true }) as number;
  const migration = db
    .transaction((): StateMigration | undefined => {
      const sql = eventsTableSql(db);
      // Files made before the partial seq index keep their UNIQUE column (SEQ_INDEX).
      const seq = seqConstraint(sql);
      let rows: number | undefined;
      if (sql === undefined) db.exec(eventsTable('events', seq));
      else if (isKeyedTable(sql)) rows = rebuild(db, seq);
      db.exec(EVENTS_INDEXES);
      if (seq === 'partial-index') db.exec(SEQ_INDEX);
      db.pragma(`user_version = ${STATE_VERSION}`);
      return rows === undefined ? undefined : { fromVersion, toVersion: STATE_VERSION, rows, ms: 0 };
    })
    .immediate();
  if (migration === undefined) return undefined;
  // The whole table went through the WAL: copy it back now rather than leave readers a long WAL to search.
  db.pragma('wal_checkpoint(TRUNCATE)');
  migration.ms = Math.round((performance.now() - started) * 10) / 10;
  return migration;
}

/** Copies the WITHOUT ROWID table into a new rowid table, in arrival order. Returns the rows copied. */
function rebuild(db: Database.Database, seq: SeqConstraint): number {
  // Its indexes stay with it, names and all, until it is dropped: the new table's are made after that.
  db.exec(`ALTER TABLE events RENAME TO ${OLD_TABLE}`);
  db.exec(eventsTable('events', seq));
  // Every column the file has, by name: a column the new table lacks fails the copy (and the open) rather
  // than losing what the column held.
  const columns = (
    db.prepare(`SELECT name FROM pragma_table_info('${OLD_TABLE}')`).all() as { name: string }[]
  )
    .map((column) => `"${column.name}"`)
    .join(', ');
  const copied = db
    .prepare(`INSERT INTO events (${columns}) SELECT ${columns} FROM ${OLD_TABLE} ORDER BY received_at, seq`)
    .run().changes;
  db.exec(`DROP TABLE ${OLD_TABLE}`);
  return copied;
}
