import type Database from 'better-sqlite3';
import { ErrorCodes, StateError } from '../errors.js';
import type { EventState } from './types.js';

/** The SQL the state database runs, prepared once per connection. */
export type Statements = ReturnType<typeof prepareStatements>;

/** A row of `events` as SELECT * reads it. */
export interface EventRow {
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

/** A decided row as the chain statements read it (CHAIN_COLUMNS). */
export interface ChainRow {
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

const CHAIN_COLUMNS = `seq, pipeline, event_id, topic, received_at, input_sha256, decision, source, reason,
  model_sha256, latency_ms, decided_at, message, prev_hash, hash, state`;

/** `decide` parameters, in order: the decision record, the chain link, the reply topic again, the key. */
const DECIDE_COLUMNS = `decision = ?, source = ?, reason = ?, model = ?, model_sha256 = ?, latency_ms = ?,
  decided_at = ?, message = ?, reply_topic = ?, seq = ?, prev_hash = ?, hash = ?,
  state = CASE WHEN ? IS NULL THEN 'published' ELSE 'decided' END`;
const DECIDE_WHERE = `WHERE pipeline = ? AND event_id = ? AND state = 'pending'`;

export function prepareStatements(db: Database.Database) {
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

/** Runs a write; a failure becomes a retryable IG_ERR_STATE_WRITE with the SQLite error as its cause. */
export function stateWrite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new StateError(ErrorCodes.STATE_WRITE, 'state database write failed', {
      retryable: true,
      cause: error,
    });
  }
}
