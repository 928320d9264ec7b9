import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StateConfig } from './config.js';
import { chainHash, GENESIS_HASH, type StoredChainRow } from './audit-chain.js';
import { ErrorCodes, StateError } from './errors.js';
import { WalCheckpointer, type CheckpointPass } from './wal-checkpointer.js';
import { WriteGate } from './write-gate.js';

/**
 * The inbox and the decision log: one SQLite row per (pipeline, event id).
 *
 * An event is written here before its PUBACK goes out, so a crash after the ack cannot lose it. The row
 * moves `pending` → `decided` (the decision message is stored) → `published` (the broker acknowledged it).
 * After a restart, `pending` rows are finished or expired and `decided` rows are published again.
 * The raw payload is kept only while the event is pending, unless the config asks to keep it.
 */

export type EventState = 'pending' | 'decided' | 'published';

export interface NewEvent {
  pipeline: string;
  eventId: string;
  topic: string;
  receivedAt: number;
  deadlineAt: number;
  /** When the event stops being worth answering with a model decision (MQTT 5 Message Expiry), ms epoch. */
  expiresAt: number | null;
  responseTopic: string | null;
  correlation: Buffer | null;
  payload: Buffer;
  inputSha256: string;
}

export interface LoggedDecision {
  decision: string;
  source: string;
  reason: string;
  model: string | null;
  modelSha256: string | null;
  latencyMs: number;
  decidedAt: number;
  /** The decision message exactly as published. */
  message: string;
  /** Where it goes; null when there is nowhere valid to send it (the dead letter says why). */
  replyTopic: string | null;
}

/** What the audit chain covers of an event besides its key (see audit-chain.ts). */
export interface ChainedEvent {
  topic: string;
  receivedAt: number;
  inputSha256: string;
}

export interface StoredEvent {
  pipeline: string;
  eventId: string;
  topic: string;
  receivedAt: number;
  deadlineAt: number;
  expiresAt: number | null;
  responseTopic: string | null;
  correlation: Buffer | null;
  payload: Buffer | null;
  inputSha256: string;
  state: EventState;
  message: string | null;
  replyTopic: string | null;
}

interface EventRow {
  pipeline: string;
  event_id: string;
  topic: string;
  received_at: number;
  deadline_at: number;
  expires_at: number | null;
  response_topic: string | null;
  correlation: Buffer | null;
  payload: Buffer | null;
  input_sha256: string;
  state: EventState;
  message: string | null;
  reply_topic: string | null;
}

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

/** Retention removes the chain in whole segments of this many rows, so anchors stay few and aligned. */
export const AUDIT_SEGMENT_ROWS = 1024;

export const INBOX_FILE = 'infergate.db';

/**
 * WAL length, in 4 KiB frames (so ~32 MiB), past which the inbox restarts the WAL (see restartWal): about
 * once a second at 1,000 events/s, each time holding writes for 1.5–3 ms.
 */
export const WAL_RESTART_FRAMES = 8_000;
/** A publish mark waits at most this long for a transaction to ride along with, ms. */
const PUBLISH_MARK_DELAY_MS = 200;
/** Longest the inbox holds its writes for a WAL restart, ms; past it, writes go on and it tries again later. */
const WAL_RESTART_HOLD_MS = 100;
/**
 * A safety net, not the way the WAL is kept short: if the checkpointer thread cannot restart it (dead, or a
 * long read by an audit tool), the writer checkpoints itself at this length (4 KiB frames, so ~160 MiB), on
 * the event loop.
 */
export const WRITER_CHECKPOINT_FRAMES = 40_000;

export interface InboxOptions {
  /** Keep the raw payload of decided events (privacy.keepInput). */
  keepInput: boolean;
  /** Told about a failed commit (rolled back; its events are answered again after a restart). */
  onCommitError?: (error: unknown) => void;
  /** Told after each WAL restart attempt: how long writes were held, ms, and whether the WAL restarted. */
  onWalRestart?: (heldMs: number, restarted: boolean) => void;
  /**
   * When a new event is durable: `on-insert` commits in `insert()`; `on-flush` leaves it in the open
   * transaction until `flush()` (or the end of the turn), for a caller that calls `flush()` before the
   * event's acknowledgement can leave (see DurabilityBarrier). Default `on-insert`.
   */
  inserts?: InsertDurability;
}

export type InsertDurability = 'on-insert' | 'on-flush';

export class Inbox {
  private readonly db: Database.Database;
  private readonly keepInput: boolean;
  private readonly onCommitError: (error: unknown) => void;
  private readonly onWalRestart: (heldMs: number, restarted: boolean) => void;
  private readonly inserts: InsertDurability;
  private readonly statements: ReturnType<typeof prepare>;
  private closed = false;
  private closing: Promise<void> = Promise.resolve();
  private checkpointer: WalCheckpointer | undefined;
  /** Held while a WAL restart needs a moment with no new frames (so also: a restart is in progress). */
  private readonly gate = new WriteGate();
  /**
   * Publish marks not written yet. Nothing waits for one (a decision whose mark is lost in a crash is only
   * published again, which its id makes harmless), so they ride along with the next transaction instead of
   * committing one of their own: one commit per event fewer, and the mark usually lands on the page the
   * next insert writes anyway. A quiet gateway writes them after PUBLISH_MARK_DELAY_MS.
   */
  private publishMarks: [pipeline: string, eventId: string][] = [];
  private marksTimer: NodeJS.Timeout | undefined;
  /**
   * Group commit: writes off the acknowledgement path (decisions, publish marks) share one transaction per
   * event-loop turn; an event's insert commits it at once, so the PUBACK never precedes durability.
   */
  private transactionOpen = false;
  private commitScheduled = false;
  private afterCommitQueue: (() => void)[] = [];
  /** New events in the open transaction that someone is about to acknowledge (`on-flush`). */
  private unflushedInserts = 0;
  /** Why such events are not on record after all: `flush()` throws it, once. */
  private lostInserts: unknown;
  /** The chain head: the last decided row's sequence number and hash. */
  private headSeq: number;
  private headHash: string;

  private constructor(db: Database.Database, options: InboxOptions) {
    this.db = db;
    this.keepInput = options.keepInput;
    this.onCommitError = options.onCommitError ?? (() => undefined);
    this.onWalRestart = options.onWalRestart ?? (() => undefined);
    this.inserts = options.inserts ?? 'on-insert';
    this.statements = prepare(db);
    const head = this.statements.head.get() as { seq: number; hash: string } | undefined;
    const anchor = this.anchor();
    this.headSeq = head?.seq ?? anchor.seq;
    this.headHash = head?.hash ?? anchor.hash;
  }

  static open(state: StateConfig, options: InboxOptions): Inbox {
    let db: Database.Database;
    try {
      mkdirSync(state.dir, { recursive: true, mode: 0o700 });
      db = new Database(join(state.dir, INBOX_FILE));
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a process crash (kill -9); FULL also survives power loss.
      db.pragma(`synchronous = ${state.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('busy_timeout = 2000');
      // Checkpoints (which copy pages and fsync) run on a worker thread, see WalCheckpointer and restartWal.
      db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_FRAMES}`);
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      db.exec(SCHEMA);
      const table = db
        .prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events'`)
        .get() as {
        sql: string;
      };
      if (!/\bseq\s+INTEGER\s+UNIQUE\b/i.test(table.sql)) db.exec(SEQ_INDEX);
    } catch (error) {
      throw new StateError(ErrorCodes.STATE_OPEN, `cannot open the state database in ${state.dir}`, {
        cause: error,
      });
    }
    const inbox = new Inbox(db, options);
    inbox.checkpointer = new WalCheckpointer({
      file: join(state.dir, INBOX_FILE),
      onPass: (pass) => inbox.onCheckpointPass(pass),
    });
    inbox.checkpointer.start();
    return inbox;
  }

  /** Opens an existing state database read-only (audit tools; safe while the daemon runs, thanks to WAL). */
  static openReadOnly(dir: string): Inbox {
    const file = join(dir, INBOX_FILE);
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 2000');
    } catch (error) {
      throw new StateError(ErrorCodes.STATE_OPEN, `cannot open the state database ${file}`, { cause: error });
    }
    return new Inbox(db, { keepInput: false });
  }

  /**
   * False for a moment while the WAL restarts (1.5–3 ms here, about once a second at 1,000 events/s). Writes
   * then still work, but one would make the restart fail: the gateway waits with `whenWritable()` instead.
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
    this.openTransaction();
    const result = this.write(() =>
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
    this.insertWritten();
    return result.changes === 1;
  }

  /** Records an event and its decision at once (invalid input, decided on arrival), durably as `insert`. */
  insertDecided(event: NewEvent, decision: LoggedDecision): boolean {
    const link = this.nextLink(event, decision);
    this.openTransaction();
    const result = this.write(() =>
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
    this.insertWritten();
    return this.advance(result.changes, link);
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
    const link = this.nextLink(
      { pipeline, eventId, topic: known.topic, receivedAt: known.receivedAt, inputSha256: known.inputSha256 },
      decision,
    );
    this.openTransaction();
    const statement = this.keepInput ? this.statements.decideKeep : this.statements.decide;
    // Positional parameters: no per-decision parameter object on the hot path.
    const result = this.write(() =>
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
    return this.advance(result.changes, link);
  }

  /** Where the remaining chain starts: the last pruned row, or the genesis. */
  anchor(): { seq: number; hash: string } {
    const anchor = this.statements.anchor.get() as { seq: number; hash: string } | undefined;
    return anchor ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Decided rows in chain order, from `afterSeq` on. */
  *chain(afterSeq = 0): IterableIterator<StoredChainRow> {
    for (const row of this.statements.chain.iterate(afterSeq) as IterableIterator<ChainRow>) {
      yield fromChainRow(row);
    }
  }

  /** Decided rows whose decision time is at or after `since` (ms epoch), in chain order. */
  *decidedSince(since: number): IterableIterator<StoredChainRow & { state: EventState }> {
    for (const row of this.statements.decidedSince.iterate(since) as IterableIterator<ChainRow>) {
      yield { ...fromChainRow(row), state: row.state };
    }
  }

  private nextLink(
    event: { pipeline: string; eventId: string; topic: string; receivedAt: number; inputSha256: string },
    decision: LoggedDecision,
  ): { seq: number; prevHash: string; hash: string } {
    const seq = this.headSeq + 1;
    const hash = chainHash(this.headHash, {
      seq,
      pipeline: event.pipeline,
      eventId: event.eventId,
      topic: event.topic,
      receivedAt: event.receivedAt,
      inputSha256: event.inputSha256,
      decision: decision.decision,
      source: decision.source,
      reason: decision.reason,
      modelSha256: decision.modelSha256,
      latencyMs: decision.latencyMs,
      decidedAt: decision.decidedAt,
      message: decision.message,
    });
    return { seq, prevHash: this.headHash, hash };
  }

  private advance(changes: number, link: { seq: number; hash: string }): boolean {
    if (changes !== 1) return false;
    this.headSeq = link.seq;
    this.headHash = link.hash;
    return true;
  }

  /** The broker acknowledged the event's decision. Written with the next transaction (see publishMarks). */
  markPublished(pipeline: string, eventId: string): void {
    if (this.closed) return;
    this.publishMarks.push([pipeline, eventId]);
    this.marksTimer ??= setTimeout(() => this.flushPublishMarks(), PUBLISH_MARK_DELAY_MS).unref();
  }

  /** Writes the publish marks now, committed with whatever else the transaction holds. */
  private flushPublishMarks(): void {
    clearTimeout(this.marksTimer);
    this.marksTimer = undefined;
    if (this.closed || this.publishMarks.length === 0) return;
    if (!this.gate.open) {
      this.marksTimer = setTimeout(() => this.flushPublishMarks(), PUBLISH_MARK_DELAY_MS).unref();
      return;
    }
    if (this.transactionOpen) this.writePublishMarks();
    else this.openTransaction(); // writes them
    this.commit(false);
  }

  private writePublishMarks(): void {
    const marks = this.publishMarks;
    this.publishMarks = [];
    clearTimeout(this.marksTimer);
    this.marksTimer = undefined;
    for (const [pipeline, eventId] of marks) {
      this.write(() => this.statements.markPublished.run(pipeline, eventId));
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

  private insertWritten(): void {
    if (this.inserts === 'on-insert') this.commit();
    else this.unflushedInserts += 1;
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
  private commit(rethrow = true): void {
    if (!this.transactionOpen) return;
    this.transactionOpen = false;
    const inserts = this.unflushedInserts;
    this.unflushedInserts = 0;
    let failure: unknown;
    try {
      this.write(() => this.statements.commit.run());
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

  /** After a failed commit: nothing of the transaction stays, and the chain head is what the file says. */
  private rollBack(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite rolls back by itself on most commit failures; nothing more to undo.
    }
    const head = this.statements.head.get() as { seq: number; hash: string } | undefined;
    const anchor = this.anchor();
    this.headSeq = head?.seq ?? anchor.seq;
    this.headHash = head?.hash ?? anchor.hash;
  }

  private openTransaction(): void {
    if (this.transactionOpen || this.closed) return;
    this.write(() => this.statements.begin.run());
    this.transactionOpen = true;
    if (this.publishMarks.length > 0) this.writePublishMarks();
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      setImmediate(() => this.scheduledCommit());
    }
  }

  private scheduledCommit(): void {
    this.commitScheduled = false;
    if (!this.closed) this.commit(false);
  }

  private onCheckpointPass(pass: CheckpointPass): void {
    if (this.closed || !this.gate.open || pass.walFrames < WAL_RESTART_FRAMES) return;
    void this.restartWal();
  }

  /**
   * Restarts the WAL from its beginning, so it stays ~WAL_RESTART_FRAMES long however steady the stream.
   * Only the writer can restart it, and only in a transaction that starts when every frame has been copied
   * into the database file; under a steady stream that moment never comes by itself (frames arrive while
   * the thread copies) and the WAL grew by ~1 GB a minute at 500 events/s, its index mapped into memory.
   * The thread has copied nearly everything by now: the inbox commits what it holds, takes no new writes
   * while the thread copies the last frames (1.5–3 ms here, two fsyncs included), and its next
   * transaction then starts the WAL over. The event loop stays free meanwhile: MQTT traffic, timers and
   * inference go on, and only writers wait.
   */
  private async restartWal(): Promise<void> {
    this.commit(false);
    this.gate.hold();
    const heldAt = performance.now();
    let pass: CheckpointPass | undefined;
    try {
      pass = await this.checkpointer?.passNow(WAL_RESTART_HOLD_MS);
    } finally {
      this.gate.release();
    }
    // Complete: the next transaction starts the WAL over. Otherwise (a reader held frames, the disk was too
    // slow for the hold) the next pass that finds it long tries again.
    this.onWalRestart(performance.now() - heldAt, pass !== undefined && pass.checkpointed === pass.walFrames);
  }

  /** Events not yet decided, oldest first. */
  pending(): StoredEvent[] {
    this.flushPublishMarks();
    return (this.statements.pending.all() as EventRow[]).map(fromRow);
  }

  /** Events decided but whose decision the broker has not acknowledged. */
  unpublished(): StoredEvent[] {
    this.flushPublishMarks();
    return (this.statements.unpublished.all() as EventRow[]).map(fromRow);
  }

  /**
   * Retention: deletes the oldest whole segments of the chain whose rows were all decided before `before`
   * (ms epoch) and published, and records the last deleted row as the new anchor, so what remains still
   * verifies. Returns the number of rows deleted.
   */
  prune(before: number): number {
    this.flushPublishMarks();
    const anchor = this.anchor();
    // The first row that must stay: too recent, or not yet acknowledged by the broker.
    const blocker = this.statements.firstKept.get(anchor.seq, before) as { seq: number } | undefined;
    const limit = blocker === undefined ? this.headSeq : blocker.seq - 1;
    const cut = anchor.seq + Math.floor((limit - anchor.seq) / AUDIT_SEGMENT_ROWS) * AUDIT_SEGMENT_ROWS;
    if (cut <= anchor.seq) return 0;
    const last = this.statements.hashAt.get(cut) as { hash: string } | undefined;
    if (last === undefined) return 0;
    return this.write(() =>
      this.db.transaction(() => {
        this.statements.addAnchor.run(cut, last.hash, Date.now());
        return this.statements.pruneChain.run(anchor.seq, cut).changes;
      })(),
    );
  }

  counts(): Record<EventState, number> {
    this.flushPublishMarks();
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
    if (this.publishMarks.length > 0) this.flushPublishMarks();
    this.commit();
    this.closed = true;
    this.closing = this.checkpointer?.stop() ?? Promise.resolve();
    // A final checkpoint here keeps the WAL small for the next start and for audit tools.
    if (!this.db.readonly) this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
    return this.closing;
  }

  private write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw new StateError(ErrorCodes.STATE_WRITE, 'state database write failed', {
        retryable: true,
        cause: error,
      });
    }
  }
}

/** `decide` parameters, in order: the decision record, the chain link, the reply topic again, the key. */
const DECIDE_COLUMNS = `decision = ?, source = ?, reason = ?, model = ?, model_sha256 = ?, latency_ms = ?,
  decided_at = ?, message = ?, reply_topic = ?, seq = ?, prev_hash = ?, hash = ?,
  state = CASE WHEN ? IS NULL THEN 'published' ELSE 'decided' END`;
const DECIDE_WHERE = `WHERE pipeline = ? AND event_id = ? AND state = 'pending'`;

function prepare(db: Database.Database) {
  return {
    get: db.prepare('SELECT * FROM events WHERE pipeline = ? AND event_id = ?'),
    insert: db.prepare(
      `INSERT OR IGNORE INTO events (pipeline, event_id, topic, received_at, deadline_at, expires_at,
        response_topic, correlation, payload, input_sha256, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
    ),
    insertDecided: db.prepare(
      `INSERT OR IGNORE INTO events (pipeline, event_id, topic, received_at, deadline_at, expires_at,
        response_topic, correlation, payload, input_sha256, state, decision, source, reason, model, model_sha256,
        latency_ms, decided_at, message, reply_topic, seq, prev_hash, hash)
       VALUES (@pipeline, @eventId, @topic, @receivedAt, @deadlineAt, @expiresAt, @responseTopic, @correlation,
        @payload, @inputSha256, CASE WHEN @replyTopic IS NULL THEN 'published' ELSE 'decided' END, @decision,
        @source, @reason, @model, @modelSha256, @latencyMs, @decidedAt, @message, @replyTopic, @seq,
        @prevHash, @hash)`,
    ),
    decide: db.prepare(`UPDATE events SET ${DECIDE_COLUMNS}, payload = NULL ${DECIDE_WHERE}`),
    decideKeep: db.prepare(`UPDATE events SET ${DECIDE_COLUMNS} ${DECIDE_WHERE}`),
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
    markPublished: db.prepare(
      `UPDATE events SET state = 'published' WHERE pipeline = ? AND event_id = ? AND state = 'decided'`,
    ),
    pending: db.prepare(`SELECT * FROM events WHERE state = 'pending' ORDER BY received_at`),
    unpublished: db.prepare(`SELECT * FROM events WHERE state = 'decided' ORDER BY received_at`),
    chainFields: db.prepare(
      'SELECT topic, received_at, input_sha256, state FROM events WHERE pipeline = ? AND event_id = ?',
    ),
    head: db.prepare('SELECT seq, hash FROM events WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1'),
    anchor: db.prepare('SELECT seq, hash FROM audit_anchor ORDER BY seq DESC LIMIT 1'),
    addAnchor: db.prepare('INSERT INTO audit_anchor (seq, hash, pruned_at) VALUES (?, ?, ?)'),
    hashAt: db.prepare('SELECT hash FROM events WHERE seq = ?'),
    firstKept: db.prepare(
      `SELECT seq FROM events WHERE seq > ? AND (decided_at >= ? OR state <> 'published') ORDER BY seq LIMIT 1`,
    ),
    pruneChain: db.prepare('DELETE FROM events WHERE seq > ? AND seq <= ?'),
    chain: db.prepare(`SELECT ${CHAIN_COLUMNS} FROM events WHERE seq > ? ORDER BY seq`),
    decidedSince: db.prepare(
      `SELECT ${CHAIN_COLUMNS} FROM events WHERE seq IS NOT NULL AND decided_at >= ? ORDER BY seq`,
    ),
    counts: db.prepare('SELECT state, count(*) AS n FROM events GROUP BY state'),
  };
}

const CHAIN_COLUMNS = `seq, pipeline, event_id, topic, received_at, input_sha256, decision, source, reason,
  model_sha256, latency_ms, decided_at, message, prev_hash, hash, state`;

interface ChainRow {
  seq: number;
  pipeline: string;
  event_id: string;
  topic: string;
  received_at: number;
  input_sha256: string;
  decision: string;
  source: string;
  reason: string;
  model_sha256: string | null;
  latency_ms: number;
  decided_at: number;
  message: string;
  prev_hash: string;
  hash: string;
  state: EventState;
}

function fromChainRow(row: ChainRow): StoredChainRow {
  return {
    seq: row.seq,
    pipeline: row.pipeline,
    eventId: row.event_id,
    topic: row.topic,
    receivedAt: row.received_at,
    inputSha256: row.input_sha256,
    decision: row.decision,
    source: row.source,
    reason: row.reason,
    modelSha256: row.model_sha256,
    latencyMs: row.latency_ms,
    decidedAt: row.decided_at,
    message: row.message,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
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
