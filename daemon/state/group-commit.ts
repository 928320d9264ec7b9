import type Database from 'better-sqlite3';
import { stateWrite, type Statements } from './statements.js';
import type { InsertDurability } from './types.js';
import type { WriteGate } from './write-gate.js';

/** A publish mark waits at most this long for a transaction to ride along with, ms. */
const PUBLISH_MARK_DELAY_MS = 200;

export interface GroupCommitDeps {
  db: Database.Database;
  statements: Statements;
  /** Closed while a WAL restart needs a moment with no new frames; publish marks wait for it. */
  gate: WriteGate;
  inserts: InsertDurability;
  /** Told about a failed commit that nobody else hears of (rolled back; see `commit`). */
  onCommitError: (error: unknown) => void;
  /** After a rollback: what was written in the transaction is gone, so whatever cached it must reload. */
  onRollBack: () => void;
}

/**
 * Group commit: writes off the acknowledgement path (decisions, publish marks) share one transaction per
 * event-loop turn; an event's insert commits it at once (`on-insert`), or at the `flush()` that comes before
 * the turn's acknowledgements leave (`on-flush`), so the PUBACK never precedes durability.
 */
export class GroupCommit {
  private readonly db: Database.Database;
  private readonly statements: Statements;
  private readonly gate: WriteGate;
  private readonly inserts: InsertDurability;
  private readonly onCommitError: (error: unknown) => void;
  private readonly onRollBack: () => void;
  private closed = false;
  private transactionOpen = false;
  private commitScheduled = false;
  private afterCommitQueue: (() => void)[] = [];
  /** New events in the open transaction that someone is about to acknowledge (`on-flush`). */
  private unflushedInserts = 0;
  /** Why such events are not on record after all: `flush()` throws it, once. */
  private lostInserts: unknown;
  /**
   * Publish marks not written yet. Nothing waits for one (a decision whose mark is lost in a crash is only
   * published again, which its id makes harmless), so they ride along with the next transaction instead of
   * committing one of their own: one commit per event fewer, and the mark usually lands on the page the
   * next insert writes anyway. A quiet gateway writes them after PUBLISH_MARK_DELAY_MS.
   */
  private publishMarks: [pipeline: string, eventId: string][] = [];
  private marksTimer: NodeJS.Timeout | undefined;

  constructor(deps: GroupCommitDeps) {
    this.db = deps.db;
    this.statements = deps.statements;
    this.gate = deps.gate;
    this.inserts = deps.inserts;
    this.onCommitError = deps.onCommitError;
    this.onRollBack = deps.onRollBack;
  }

  /** Starts the turn's transaction unless one is open; it commits at the end of the turn at the latest. */
  open(): void {
    if (this.transactionOpen || this.closed) return;
    stateWrite(() => this.statements.begin.run());
    this.transactionOpen = true;
    if (this.publishMarks.length > 0) this.writePublishMarks();
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      setImmediate(() => this.scheduledCommit());
    }
  }

  /** After an event's insert into the open transaction: commits it now, or counts it for `flush()`. */
  insertWritten(): void {
    if (this.inserts === 'on-insert') this.commit();
    else this.unflushedInserts += 1;
  }

  /** Queues a publish mark for the next transaction (see publishMarks). */
  markPublished(pipeline: string, eventId: string): void {
    if (this.closed) return;
    this.publishMarks.push([pipeline, eventId]);
    this.marksTimer ??= setTimeout(() => this.flushPublishMarks(), PUBLISH_MARK_DELAY_MS).unref();
  }

  /** Writes the publish marks now, committed with whatever else the transaction holds. */
  flushPublishMarks(): void {
    clearTimeout(this.marksTimer);
    this.marksTimer = undefined;
    if (this.closed || this.publishMarks.length === 0) return;
    if (!this.gate.open) {
      this.marksTimer = setTimeout(() => this.flushPublishMarks(), PUBLISH_MARK_DELAY_MS).unref();
      return;
    }
    if (this.transactionOpen) this.writePublishMarks();
    else this.open(); // writes them
    this.commit(false);
  }

  private writePublishMarks(): void {
    const marks = this.publishMarks;
    this.publishMarks = [];
    clearTimeout(this.marksTimer);
    this.marksTimer = undefined;
    for (const [pipeline, eventId] of marks) {
      stateWrite(() => this.statements.markPublished.run(pipeline, eventId));
    }
  }

  /**
   * Makes every insert so far durable (`on-flush`): commits now and throws when that failed, or when an
   * earlier commit of this turn that held such inserts failed. Nothing happens when nothing is pending.
   */
  flush(): void {
    if (!this.closed) this.commit(false);
    const lost = this.lostInserts;
    this.lostInserts = undefined;
    if (lost !== undefined) throw lost;
  }

  /** Runs `fn` once everything written so far is committed (at once when nothing is pending). */
  afterCommit(fn: () => void): void {
    if (!this.transactionOpen) fn();
    else this.afterCommitQueue.push(fn);
  }

  /**
   * Makes every write so far durable, then runs what waited for it. A failed commit is rolled back and
   * thrown when `rethrow` (an event's insert: its message stays unacknowledged), else reported through
   * `onCommitError`; `afterCommit` callbacks run either way (a decision goes out even when its record
   * failed: the event stays pending and is answered again after a restart).
   */
  commit(rethrow = true): void {
    if (!this.transactionOpen) return;
    this.transactionOpen = false;
    const inserts = this.unflushedInserts;
    this.unflushedInserts = 0;
    let failure: unknown;
    try {
      stateWrite(() => this.statements.commit.run());
    } catch (error) {
      failure = error;
      this.rollBack();
      // Their acknowledgements are on the way out: the next flush() must stop them.
      if (inserts > 0) this.lostInserts ??= error;
    }
    const waiting = this.afterCommitQueue;
    this.afterCommitQueue = [];
    for (const fn of waiting) fn();
    if (failure === undefined) return;
    if (rethrow) throw failure;
    this.onCommitError(failure);
  }

  /** Writes what is left (throwing when that fails) and takes no more writes. */
  close(): void {
    if (this.closed) return;
    if (this.publishMarks.length > 0) this.flushPublishMarks();
    this.commit();
    this.closed = true;
  }

  /** After a failed commit: nothing of the transaction stays. */
  private rollBack(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite rolls back by itself on most commit failures; nothing more to undo.
    }
    this.onRollBack();
  }

  private scheduledCommit(): void {
    this.commitScheduled = false;
    if (!this.closed) this.commit(false);
  }
}
