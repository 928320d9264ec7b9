import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { StateConfig } from '../config.js';
import type { StoredChainRow } from './audit-chain.js';
import { AuditLog } from './audit-log.js';
import { GroupCommit } from './group-commit.js';
import type { StateMigration } from './migration.js';
import { INBOX_FILE, openStateDatabase, openStateDatabaseReadOnly } from './schema.js';
import { ShadowLog, type ShadowDecisionRow } from './shadow-log.js';
import { prepareStatements, stateWrite, type EventRow, type Statements } from './statements.js';
import type {
  ChainedEvent,
  LoggedDecision,
  EventState,
  InsertDurability,
  NewEvent,
  StoredEvent,
} from './types.js';
import { WalRestarter } from './wal-restarter.js';
import { WriteGate } from './write-gate.js';

/**
 * The inbox and the decision log: one SQLite row per (pipeline, event id).
 *
 * An event is written here before its PUBACK goes out, so a crash after the ack cannot lose it. The row
 * moves `pending` → `decided` (the decision message is stored) → `published` (the broker acknowledged it).
 * After a restart, `pending` rows are finished or expired and `decided` rows are published again.
 * The raw payload is kept only while the event is pending, unless the config asks to keep it.
 *
 * Writes share transactions (group-commit.ts), decisions are chained (audit-log.ts, audit-chain.ts), and
 * the WAL is kept short off the event loop (wal-restarter.ts).
 */

export interface InboxOptions {
  /** Keep the raw payload of decided events (privacy.keepInput). */
  keepInput: boolean;
  /** Told about a failed commit (rolled back; its events are answered again after a restart). */
  onCommitError?: (error: unknown) => void;
  /** Told after each WAL restart attempt: how long writes were held, ms, and whether the WAL restarted. */
  onWalRestart?: (heldMs: number, restarted: boolean) => void;
  /** When a new event is durable (see InsertDurability). Default `on-insert`. */
  inserts?: InsertDurability;
  /** Told when the open brought a state file of an earlier release up to date. */
  onMigrated?: (migration: StateMigration) => void;
}

interface InboxParts {
  db: Database.Database;
  statements: Statements;
  keepInput: boolean;
  /** Held while a WAL restart needs a moment with no new frames (so also: a restart is in progress). */
  gate: WriteGate;
  commits: GroupCommit;
  audit: AuditLog;
  /** Absent on a read-only inbox. */
  walRestarter: WalRestarter | undefined;
}

export class Inbox {
  private readonly db: Database.Database;
  private readonly statements: Statements;
  private readonly keepInput: boolean;
  private readonly gate: WriteGate;
  private readonly commits: GroupCommit;
  private readonly audit: AuditLog;
  private readonly walRestarter: WalRestarter | undefined;
  private closed = false;
  private closing: Promise<void> = Promise.resolve();
  /** Made on first use: a read-only inbox on a state file older than shadows never needs it. */
  private shadowLog: ShadowLog | undefined;

  private constructor(parts: InboxParts) {
    this.db = parts.db;
    this.statements = parts.statements;
    this.keepInput = parts.keepInput;
    this.gate = parts.gate;
    this.commits = parts.commits;
    this.audit = parts.audit;
    this.walRestarter = parts.walRestarter;
  }

  static open(state: StateConfig, options: InboxOptions): Inbox {
    const db = openStateDatabase(state, options.onMigrated);
    const inbox = Inbox.assemble(db, options, join(state.dir, INBOX_FILE));
    inbox.walRestarter?.start();
    return inbox;
  }

  /** Opens an existing state database read-only (audit tools; safe while the daemon runs, thanks to WAL). */
  static openReadOnly(dir: string): Inbox {
    return Inbox.assemble(openStateDatabaseReadOnly(dir), { keepInput: false }, undefined);
  }

  /** `walFile` is the database file the WAL restarter checkpoints; none for a read-only inbox. */
  private static assemble(db: Database.Database, options: InboxOptions, walFile: string | undefined): Inbox {
    const statements = prepareStatements(db);
    const gate = new WriteGate();
    const audit = new AuditLog(db, statements);
    audit.loadHead();
    const commits = new GroupCommit({
      db,
      statements,
      gate,
      inserts: options.inserts ?? 'on-insert',
      onCommitError: options.onCommitError ?? (() => undefined),
      onRollBack: () => audit.loadHead(),
    });
    const walRestarter =
      walFile === undefined
        ? undefined
        : new WalRestarter({
            file: walFile,
            gate,
            commits,
            onWalRestart: options.onWalRestart ?? (() => undefined),
          });
    return new Inbox({ db, statements, keepInput: options.keepInput, gate, commits, audit, walRestarter });
  }

  /**
   * False for a moment while the WAL restarts (see WalRestarter). Writes then still work, but one would make
   * the restart fail: the gateway waits with `whenWritable()` instead.
   */
  get writable(): boolean {
    return this.gate.open;
  }

  whenWritable(): Promise<void> {
    return this.gate.wait();
  }

  get(pipeline: string, eventId: string): StoredEvent | undefined {
    const row = this.statements.get.get(pipeline, eventId) as EventRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /**
   * Records a new event, durably: it commits at once (with whatever else the transaction holds), because
   * the PUBACK goes out as soon as the message handler returns. Returns false when the id is already known
   * (a redelivery). Throws when the event could not be recorded.
   */
  insert(event: NewEvent): boolean {
    this.commits.open();
    const result = stateWrite(() =>
      this.statements.insert.run(
        event.pipeline,
        event.eventId,
        event.topic,
        event.receivedAt,
        event.deadlineAt,
        event.expiresAt,
        event.responseTopic,
        event.correlation,
        event.payload,
        event.inputSha256,
      ),
    );
    this.commits.insertWritten();
    return result.changes === 1;
  }

  /** Records an event and its decision at once (invalid input, decided on arrival), durably as `insert`. */
  insertDecided(event: NewEvent, decision: LoggedDecision): boolean {
    const link = this.audit.nextLink(event, decision);
    this.commits.open();
    const result = stateWrite(() =>
      this.statements.insertDecided.run({
        ...decisionParams(decision),
        ...link,
        pipeline: event.pipeline,
        eventId: event.eventId,
        topic: event.topic,
        receivedAt: event.receivedAt,
        deadlineAt: event.deadlineAt,
        expiresAt: event.expiresAt,
        responseTopic: event.responseTopic,
        correlation: event.correlation,
        payload: this.keepInput ? event.payload : null,
        inputSha256: event.inputSha256,
      }),
    );
    this.commits.insertWritten();
    return this.audit.advance(result.changes, link);
  }

  /**
   * First decision wins: returns false when the event was already decided (or is unknown). `event` saves a
   * read when the caller still holds what the chain hash covers of the event; it must be what was inserted.
   */
  decide(pipeline: string, eventId: string, decision: LoggedDecision, event?: ChainedEvent): boolean {
    let known = event;
    if (known === undefined) {
      const stored = this.statements.chainFields.get(pipeline, eventId) as
        { topic: string; received_at: number; input_sha256: string; state: EventState } | undefined;
      if (stored === undefined || stored.state !== 'pending') return false;
      known = { topic: stored.topic, receivedAt: stored.received_at, inputSha256: stored.input_sha256 };
    }
    const link = this.audit.nextLink(
      { pipeline, eventId, topic: known.topic, receivedAt: known.receivedAt, inputSha256: known.inputSha256 },
      decision,
    );
    this.commits.open();
    const statement = this.keepInput ? this.statements.decideKeep : this.statements.decide;
    // Positional parameters: no per-decision parameter object on the hot path.
    const result = stateWrite(() =>
      statement.run(
        decision.decision,
        decision.source,
        decision.reason,
        decision.model,
        decision.modelSha256,
        decision.latencyMs,
        decision.decidedAt,
        decision.message,
        decision.replyTopic,
        link.seq,
        link.prevHash,
        link.hash,
        decision.replyTopic,
        pipeline,
        eventId,
      ),
    );
    return this.audit.advance(result.changes, link);
  }

  /** Where the remaining chain starts: the last pruned row, or the genesis. */
  anchor(): { seq: number; hash: string } {
    return this.audit.anchor();
  }

  /** Decided rows in chain order, from `afterSeq` on. */
  chain(afterSeq = 0): IterableIterator<StoredChainRow> {
    return this.audit.chain(afterSeq);
  }

  /** Decided rows whose decision time is at or after `since` (ms epoch), in chain order. */
  decidedSince(since: number): IterableIterator<StoredChainRow & { state: EventState }> {
    return this.audit.decidedSince(since);
  }

  /**
   * Records a shadow decision with the turn's transaction. Returns false, recording nothing, while the
   * state is not writable (a WAL restart) or closed: a shadow decision is never worth waiting for.
   */
  recordShadow(row: ShadowDecisionRow): boolean {
    if (this.closed || !this.gate.open) return false;
    this.shadowLog ??= new ShadowLog(this.db);
    this.commits.open();
    this.shadowLog.record(row);
    return true;
  }

  /** The broker acknowledged the event's decision. Written with the next transaction (see GroupCommit). */
  markPublished(pipeline: string, eventId: string): void {
    this.commits.markPublished(pipeline, eventId);
  }

  /**
   * Makes every insert so far durable (`on-flush`): commits now and throws when that failed, or when an
   * earlier commit of this turn that held such inserts failed. Nothing happens when nothing is pending.
   */
  flush(): void {
    this.commits.flush();
  }

  /** Runs `fn` once everything written so far is committed (at once when nothing is pending). */
  afterCommit(fn: () => void): void {
    this.commits.afterCommit(fn);
  }

  /** Events not yet decided, oldest first. */
  pending(): StoredEvent[] {
    this.commits.flushPublishMarks();
    return (this.statements.pending.all() as EventRow[]).map(fromRow);
  }

  /** Events decided but whose decision the broker has not acknowledged. */
  unpublished(): StoredEvent[] {
    this.commits.flushPublishMarks();
    return (this.statements.unpublished.all() as EventRow[]).map(fromRow);
  }

  /**
   * Retention: deletes the oldest whole segments of the chain whose rows were all decided before `before`
   * (ms epoch) and published, and records the last deleted row as the new anchor, so what remains still
   * verifies. Returns the number of rows deleted.
   */
  prune(before: number): number {
    this.commits.flushPublishMarks();
    const pruned = this.audit.prune(before);
    if (!this.db.readonly) {
      this.shadowLog ??= new ShadowLog(this.db);
      this.shadowLog.prune(before);
    }
    return pruned;
  }

  counts(): Record<EventState, number> {
    this.commits.flushPublishMarks();
    const counts: Record<EventState, number> = { pending: 0, decided: 0, published: 0 };
    for (const row of this.statements.counts.all() as { state: EventState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  /**
   * Writes what is left and closes the database at once; the promise settles when the checkpoint thread has
   * ended too. Until then that thread may still open the file (a thread started moments ago is only now
   * loading), so whoever removes or moves the state directory must wait for it. Idempotent.
   */
  close(): Promise<void> {
    if (this.closed) return this.closing;
    this.gate.release();
    this.commits.close();
    this.closed = true;
    this.closing = this.walRestarter?.stop() ?? Promise.resolve();
    // A final checkpoint here keeps the WAL small for the next start and for audit tools.
    if (!this.db.readonly) this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
    return this.closing;
  }
}

function decisionParams(decision: LoggedDecision) {
  return {
    decision: decision.decision,
    source: decision.source,
    reason: decision.reason,
    model: decision.model,
    modelSha256: decision.modelSha256,
    latencyMs: decision.latencyMs,
    decidedAt: decision.decidedAt,
    message: decision.message,
    replyTopic: decision.replyTopic,
  };
}

function fromRow(row: EventRow): StoredEvent {
  return {
    pipeline: row.pipeline,
    eventId: row.event_id,
    topic: row.topic,
    receivedAt: row.received_at,
    deadlineAt: row.deadline_at,
    expiresAt: row.expires_at,
    responseTopic: row.response_topic,
    correlation: row.correlation,
    payload: row.payload,
    inputSha256: row.input_sha256,
    state: row.state,
    message: row.message,
    replyTopic: row.reply_topic,
  };
}
