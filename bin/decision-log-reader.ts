/**
 * Read-only access to the gateway's decision log (the `events` table of `<state.dir>/infergate.db`, laid
 * out by the core's state module) for `infergate decisions` and `infergate status`. It never writes:
 * opened read-only, it works for a member of the service's group while the gateway runs (SQLite reads the
 * WAL through the existing `-shm` file). When the gateway is stopped, those files are gone and a reader
 * that may not write the directory cannot recreate them; the checkpointed database file then holds
 * everything, and it is read from a private in-memory copy instead.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { INBOX_FILE } from '../daemon/state/schema.js';

/** The state database's file name in `state.dir`. */
export const DECISION_LOG_FILE = INBOX_FILE;
/** A stopped gateway's database is copied into memory up to this size, bytes. */
const MAX_COPY_BYTES = 1024 * 1024 * 1024;

export interface DecisionRow {
  seq: number;
  pipeline: string;
  id: string;
  topic: string;
  decision: string;
  source: string;
  reason: string;
  /** From the published message; null on a fallback. */
  score: number | null;
  model: string | null;
  modelSha256: string | null;
  latencyMs: number;
  budgetMs: number | null;
  receivedAt: number;
  decidedAt: number;
  /** `decided` until the broker acknowledged the decision, then `published`. */
  state: string;
}

export interface DecisionFilter {
  pipeline?: string;
  source?: string;
  reason?: string;
  /** Decided at or after, ms epoch. */
  since?: number;
}

export interface DecisionLogSummary {
  /** Events not decided yet, and decisions the broker has not acknowledged. */
  pending: number;
  unpublished: number;
  /** The chain's last sequence number: decisions recorded since the log began. */
  headSeq: number;
  /** Per pipeline, over the last `sampled` decisions. */
  pipelines: {
    pipeline: string;
    decisions: number;
    bySourceReason: Record<string, number>;
    p50Ms: number | null;
    p99Ms: number | null;
    firstAt: number;
    lastAt: number;
  }[];
  sampled: number;
}

/** Why the log cannot be read, for the operator (exit 66). */
export class DecisionLogUnreadable extends Error {}

interface Row {
  seq: number;
  pipeline: string;
  event_id: string;
  topic: string;
  decision: string;
  source: string;
  reason: string;
  model: string | null;
  model_sha256: string | null;
  latency_ms: number;
  received_at: number;
  decided_at: number;
  message: string | null;
  state: string;
}

const COLUMNS = `seq, pipeline, event_id, topic, decision, source, reason, model, model_sha256, latency_ms,
  received_at, decided_at, message, state`;
const FILTERS = `seq IS NOT NULL AND seq > @afterSeq
  AND (@pipeline IS NULL OR pipeline = @pipeline) AND (@source IS NULL OR source = @source)
  AND (@reason IS NULL OR reason = @reason) AND (@since IS NULL OR decided_at >= @since)`;

export class DecisionLogReader {
  private readonly db: Database.Database;
  /** True when reading an in-memory copy of a stopped gateway's file. */
  readonly copy: boolean;
  readonly file: string;
  private readonly copiedFrom: { size: number; mtimeMs: number } | null;

  private constructor(
    db: Database.Database,
    file: string,
    copiedFrom: { size: number; mtimeMs: number } | null,
  ) {
    this.db = db;
    this.file = file;
    this.copy = copiedFrom !== null;
    this.copiedFrom = copiedFrom;
  }

  /** Throws DecisionLogUnreadable with the reason and what to do about it. */
  static open(stateDir: string): DecisionLogReader {
    const file = join(stateDir, DECISION_LOG_FILE);
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = statSync(file));
    } catch (error) {
      throw unreadable(file, error);
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 2000');
      db.prepare('SELECT 1 FROM events LIMIT 1').get();
      return new DecisionLogReader(db, file, null);
    } catch (error) {
      db?.close();
      const code = (error as { code?: unknown }).code;
      // A stopped gateway left no -wal/-shm files, and this user may not create them next to the file.
      const walGone = !existsSync(`${file}-wal`);
      if (walGone && (code === 'SQLITE_READONLY_DIRECTORY' || code === 'SQLITE_CANTOPEN')) {
        return DecisionLogReader.openCopy(file, size, mtimeMs);
      }
      throw unreadable(file, error);
    }
  }

  private static openCopy(file: string, size: number, mtimeMs: number): DecisionLogReader {
    if (size > MAX_COPY_BYTES) {
      throw new DecisionLogUnreadable(
        `${file} is ${Math.round(size / 1048576)} MiB and the gateway is stopped; read it as the service user`,
      );
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw unreadable(file, error);
    }
    // Header bytes 18 and 19 say WAL (2); an in-memory database reads only the legacy format (1). The
    // file itself is left alone: this is a private copy.
    if (bytes.length >= 20) bytes[18] = bytes[19] = 1;
    try {
      const db = new Database(bytes, { readonly: true });
      db.prepare('SELECT 1 FROM events LIMIT 1').get();
      return new DecisionLogReader(db, file, { size, mtimeMs });
    } catch (error) {
      throw unreadable(file, error);
    }
  }

  /** A copy goes stale when the gateway starts again (or wrote since): then open the file anew. */
  get stale(): boolean {
    if (this.copiedFrom === null) return false;
    try {
      const now = statSync(this.file);
      return now.size !== this.copiedFrom.size || now.mtimeMs !== this.copiedFrom.mtimeMs;
    } catch {
      return true;
    }
  }

  /** The last `limit` matching decisions, oldest first. */
  latest(filter: DecisionFilter, limit: number): DecisionRow[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM events WHERE ${FILTERS} ORDER BY seq DESC LIMIT @limit`)
      .all({ ...params(filter, 0), limit }) as Row[];
    return rows.reverse().map(toDecision);
  }

  /** Matching decisions after `afterSeq`, oldest first, at most `limit`. */
  after(afterSeq: number, filter: DecisionFilter, limit: number): DecisionRow[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM events WHERE ${FILTERS} ORDER BY seq LIMIT @limit`)
      .all({ ...params(filter, afterSeq), limit }) as Row[];
    return rows.map(toDecision);
  }

  /** The head of the chain (0 for an empty log). */
  headSeq(): number {
    const row = this.db.prepare('SELECT max(seq) AS seq FROM events WHERE seq IS NOT NULL').get() as {
      seq: number | null;
    };
    return row.seq ?? 0;
  }

  /** What `infergate status` shows of a stopped gateway: backlog and the last `sample` decisions. */
  summary(sample: number): DecisionLogSummary {
    const counts = new Map<string, number>();
    // The partial index on unfinished rows answers this without reading the whole table.
    for (const row of this.db
      .prepare(`SELECT state, count(*) AS n FROM events WHERE state <> 'published' GROUP BY state`)
      .all() as { state: string; n: number }[]) {
      counts.set(row.state, row.n);
    }
    const recent = this.latest({}, sample);
    const byPipeline = new Map<string, DecisionRow[]>();
    for (const row of recent) {
      const rows = byPipeline.get(row.pipeline);
      if (rows === undefined) byPipeline.set(row.pipeline, [row]);
      else rows.push(row);
    }
    return {
      pending: counts.get('pending') ?? 0,
      unpublished: counts.get('decided') ?? 0,
      headSeq: this.headSeq(),
      sampled: recent.length,
      pipelines: [...byPipeline].map(([pipeline, rows]) => {
        const bySourceReason: Record<string, number> = {};
        for (const row of rows) {
          const key = `${row.source}/${row.reason}`;
          bySourceReason[key] = (bySourceReason[key] ?? 0) + 1;
        }
        const latencies = rows.map((r) => r.latencyMs).sort((a, b) => a - b);
        return {
          pipeline,
          decisions: rows.length,
          bySourceReason,
          p50Ms: quantile(latencies, 0.5),
          p99Ms: quantile(latencies, 0.99),
          firstAt: rows[0]!.decidedAt,
          lastAt: rows[rows.length - 1]!.decidedAt,
        };
      }),
    };
  }

  close(): void {
    this.db.close();
  }
}

function params(filter: DecisionFilter, afterSeq: number) {
  return {
    afterSeq,
    pipeline: filter.pipeline ?? null,
    source: filter.source ?? null,
    reason: filter.reason ?? null,
    since: filter.since ?? null,
  };
}

function toDecision(row: Row): DecisionRow {
  let score: number | null = null;
  let budgetMs: number | null = null;
  if (row.message !== null) {
    try {
      const message = JSON.parse(row.message) as { score?: unknown; budgetMs?: unknown };
      if (typeof message.score === 'number') score = message.score;
      if (typeof message.budgetMs === 'number') budgetMs = message.budgetMs;
    } catch {
      // A message that is not JSON leaves score and budget unknown; the row itself is still shown.
    }
  }
  return {
    seq: row.seq,
    pipeline: row.pipeline,
    id: row.event_id,
    topic: row.topic,
    decision: row.decision,
    source: row.source,
    reason: row.reason,
    score,
    model: row.model,
    modelSha256: row.model_sha256,
    latencyMs: row.latency_ms,
    budgetMs,
    receivedAt: row.received_at,
    decidedAt: row.decided_at,
    state: row.state,
  };
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const value = sorted[Math.min(Math.max(Math.ceil(q * sorted.length), 1), sorted.length) - 1]!;
  return Math.round(value * 1000) / 1000;
}

function unreadable(file: string, error: unknown): DecisionLogUnreadable {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') {
    return new DecisionLogUnreadable(`no decision log at ${file} (has the gateway run with this state.dir?)`);
  }
  if (
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'SQLITE_CANTOPEN' ||
    code === 'SQLITE_READONLY_DIRECTORY'
  ) {
    return new DecisionLogUnreadable(
      `cannot read ${file}: permission denied; members of the service's group can read it once the state ` +
        'directory is group-readable (docs/install.md#reading-decisions-without-root)',
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new DecisionLogUnreadable(
    `cannot read ${file}: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`,
  );
}
