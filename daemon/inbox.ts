import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StateConfig } from '../config/types.js';
import { ErrorCodes, StateError } from './errors.js';

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
  responseTopic: string | null;
  correlation: Buffer | null;
  payload: Buffer;
  inputSha256: string;
}

export interface DecisionRecord {
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

export interface StoredEvent {
  pipeline: string;
  eventId: string;
  topic: string;
  receivedAt: number;
  deadlineAt: number;
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
  PRIMARY KEY (pipeline, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_unfinished ON events(state) WHERE state <> 'published';
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
`;

export const INBOX_FILE = 'infergate.db';

export class Inbox {
  private readonly db: Database.Database;
  private readonly keepInput: boolean;
  private readonly statements: ReturnType<typeof prepare>;
  private closed = false;

  private constructor(db: Database.Database, keepInput: boolean) {
    this.db = db;
    this.keepInput = keepInput;
    this.statements = prepare(db);
  }

  static open(state: StateConfig, options: { keepInput: boolean }): Inbox {
    let db: Database.Database;
    try {
      mkdirSync(state.dir, { recursive: true, mode: 0o700 });
      db = new Database(join(state.dir, INBOX_FILE));
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a process crash (kill -9); FULL also survives power loss.
      db.pragma(`synchronous = ${state.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('busy_timeout = 2000');
      db.exec(SCHEMA);
    } catch (error) {
      throw new StateError(ErrorCodes.STATE_OPEN, `cannot open the state database in ${state.dir}`, {
        cause: error,
      });
    }
    return new Inbox(db, options.keepInput);
  }

  get(pipeline: string, eventId: string): StoredEvent | undefined {
    const row = this.statements.get.get(pipeline, eventId) as EventRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** Records a new event; returns false when the id is already known (a redelivery). */
  insert(event: NewEvent): boolean {
    const result = this.write(() =>
      this.statements.insert.run(
        event.pipeline,
        event.eventId,
        event.topic,
        event.receivedAt,
        event.deadlineAt,
        event.responseTopic,
        event.correlation,
        event.payload,
        event.inputSha256,
      ),
    );
    return result.changes === 1;
  }

  /** Records an event and its decision at once (invalid input, decided on arrival). */
  insertDecided(event: NewEvent, decision: DecisionRecord): boolean {
    const result = this.write(() =>
      this.statements.insertDecided.run({
        ...decisionParams(decision),
        pipeline: event.pipeline,
        eventId: event.eventId,
        topic: event.topic,
        receivedAt: event.receivedAt,
        deadlineAt: event.deadlineAt,
        responseTopic: event.responseTopic,
        correlation: event.correlation,
        payload: this.keepInput ? event.payload : null,
        inputSha256: event.inputSha256,
      }),
    );
    return result.changes === 1;
  }

  /** First decision wins: returns false when the event was already decided. */
  decide(pipeline: string, eventId: string, decision: DecisionRecord): boolean {
    const result = this.write(() =>
      (this.keepInput ? this.statements.decideKeep : this.statements.decide).run({
        ...decisionParams(decision),
        pipeline,
        eventId,
      }),
    );
    return result.changes === 1;
  }

  markPublished(pipeline: string, eventId: string): void {
    if (this.closed) return;
    this.write(() => this.statements.markPublished.run(pipeline, eventId));
  }

  /** Events not yet decided, oldest first. */
  pending(): StoredEvent[] {
    return (this.statements.pending.all() as EventRow[]).map(fromRow);
  }

  /** Events decided but whose decision the broker has not acknowledged. */
  unpublished(): StoredEvent[] {
    return (this.statements.unpublished.all() as EventRow[]).map(fromRow);
  }

  /** Deletes published rows received before `before` (ms epoch). Returns the number deleted. */
  prune(before: number): number {
    return this.write(() => this.statements.prune.run(before)).changes;
  }

  counts(): Record<EventState, number> {
    const counts: Record<EventState, number> = { pending: 0, decided: 0, published: 0 };
    for (const row of this.statements.counts.all() as { state: EventState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
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

function prepare(db: Database.Database) {
  const decisionColumns = `decision = @decision, source = @source, reason = @reason, model = @model,
    model_sha256 = @modelSha256, latency_ms = @latencyMs, decided_at = @decidedAt, message = @message,
    reply_topic = @replyTopic, state = CASE WHEN @replyTopic IS NULL THEN 'published' ELSE 'decided' END`;
  return {
    get: db.prepare('SELECT * FROM events WHERE pipeline = ? AND event_id = ?'),
    insert: db.prepare(
      `INSERT OR IGNORE INTO events (pipeline, event_id, topic, received_at, deadline_at, response_topic,
        correlation, payload, input_sha256, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
    ),
    insertDecided: db.prepare(
      `INSERT OR IGNORE INTO events (pipeline, event_id, topic, received_at, deadline_at, response_topic,
        correlation, payload, input_sha256, state, decision, source, reason, model, model_sha256, latency_ms,
        decided_at, message, reply_topic)
       VALUES (@pipeline, @eventId, @topic, @receivedAt, @deadlineAt, @responseTopic, @correlation, @payload,
        @inputSha256, CASE WHEN @replyTopic IS NULL THEN 'published' ELSE 'decided' END, @decision, @source,
        @reason, @model, @modelSha256, @latencyMs, @decidedAt, @message, @replyTopic)`,
    ),
    decide: db.prepare(
      `UPDATE events SET ${decisionColumns}, payload = NULL
       WHERE pipeline = @pipeline AND event_id = @eventId AND state = 'pending'`,
    ),
    decideKeep: db.prepare(
      `UPDATE events SET ${decisionColumns}
       WHERE pipeline = @pipeline AND event_id = @eventId AND state = 'pending'`,
    ),
    markPublished: db.prepare(
      `UPDATE events SET state = 'published' WHERE pipeline = ? AND event_id = ? AND state = 'decided'`,
    ),
    pending: db.prepare(`SELECT * FROM events WHERE state = 'pending' ORDER BY received_at`),
    unpublished: db.prepare(`SELECT * FROM events WHERE state = 'decided' ORDER BY received_at`),
    prune: db.prepare(`DELETE FROM events WHERE state = 'published' AND received_at < ?`),
    counts: db.prepare('SELECT state, count(*) AS n FROM events GROUP BY state'),
  };
}

function decisionParams(decision: DecisionRecord) {
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
    responseTopic: row.response_topic,
    correlation: row.correlation,
    payload: row.payload,
    inputSha256: row.input_sha256,
    state: row.state,
    message: row.message,
    replyTopic: row.reply_topic,
  };
}
