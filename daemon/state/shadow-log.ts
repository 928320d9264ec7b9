import type Database from 'better-sqlite3';
import { stateWrite } from './statements.js';

/** One shadow decision, recorded next to the live decision of the same (pipeline, event id). */
export interface ShadowDecisionRow {
  pipeline: string;
  eventId: string;
  model: string;
  /** Full sha256 of the shadow model file. */
  modelSha256: string;
  decision: string;
  score: number | null;
  /** Arrival at the gateway → shadow decision, ms. */
  latencyMs: number;
  /** ms since the epoch. */
  decidedAt: number;
}

/** A shadow decision with the live decision of its event (null while that one is not on record). */
export interface ShadowComparison extends ShadowDecisionRow {
  liveDecision: string | null;
  liveSource: string | null;
  liveModel: string | null;
  liveLatencyMs: number | null;
}

/** The table (created with the state database's schema, see schema.ts). */
export const SHADOW_SCHEMA = `
CREATE TABLE IF NOT EXISTS shadow_decisions (
  pipeline     TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  model        TEXT    NOT NULL,
  model_sha256 TEXT    NOT NULL,
  decision     TEXT    NOT NULL,
  score        REAL,
  latency_ms   REAL    NOT NULL,
  decided_at   INTEGER NOT NULL,
  PRIMARY KEY (pipeline, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shadow_decisions_time ON shadow_decisions(pipeline, decided_at);
`;

/**
 * The shadow decisions: never published, bounded by the same retention as the decision log. Written in the
 * inbox's group-commit transaction (the caller opens it); an event shadowed twice (resumed after a
 * restart) keeps its first shadow decision.
 */
export class ShadowLog {
  private readonly insert: Database.Statement;
  private readonly pruneBefore: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO shadow_decisions
         (pipeline, event_id, model, model_sha256, decision, score, latency_ms, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.pruneBefore = db.prepare('DELETE FROM shadow_decisions WHERE decided_at < ?');
  }

  record(row: ShadowDecisionRow): void {
    stateWrite(() =>
      this.insert.run(
        row.pipeline,
        row.eventId,
        row.model,
        row.modelSha256,
        row.decision,
        row.score,
        row.latencyMs,
        row.decidedAt,
      ),
    );
  }

  /** Retention: deletes shadow decisions made before `before` (ms epoch). */
  prune(before: number): number {
    return stateWrite(() => this.pruneBefore.run(before).changes);
  }
}

interface ComparisonRow {
  pipeline: string;
  event_id: string;
  model: string;
  model_sha256: string;
  decision: string;
  score: number | null;
  latency_ms: number;
  decided_at: number;
  live_decision: string | null;
  live_source: string | null;
  live_model: string | null;
  live_latency_ms: number | null;
}

/**
 * The shadow decisions of `pipeline` made at or after `since` (ms epoch), each with its live decision, in
 * time order. For the report (a read-only connection; a state file made before shadows has none).
 */
export function* readShadowComparisons(
  db: Database.Database,
  pipeline: string,
  since: number,
): IterableIterator<ShadowComparison> {
  const exists = db
    .prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'shadow_decisions'`)
    .get();
  if (exists === undefined) return;
  const rows = db
    .prepare(
      `SELECT s.pipeline, s.event_id, s.model, s.model_sha256, s.decision, s.score, s.latency_ms, s.decided_at,
              e.decision AS live_decision, e.source AS live_source, e.model AS live_model,
              e.latency_ms AS live_latency_ms
         FROM shadow_decisions s
         LEFT JOIN events e ON e.pipeline = s.pipeline AND e.event_id = s.event_id
        WHERE s.pipeline = ? AND s.decided_at >= ?
        ORDER BY s.decided_at`,
    )
    .iterate(pipeline, since) as IterableIterator<ComparisonRow>;
  for (const row of rows) {
    yield {
      pipeline: row.pipeline,
      eventId: row.event_id,
      model: row.model,
      modelSha256: row.model_sha256,
      decision: row.decision,
      score: row.score,
      latencyMs: row.latency_ms,
      decidedAt: row.decided_at,
      liveDecision: row.live_decision,
      liveSource: row.live_source,
      liveModel: row.live_model,
      liveLatencyMs: row.live_latency_ms,
    };
  }
}
