/**
 * `infergate decisions`: the latest decisions from the state file, as a table or JSON lines, optionally
 * following new ones. Read-only (see decision-log-reader.ts), so it works for the service's group while
 * the gateway runs, and on a stopped gateway's file too.
 */
import {
  DecisionLogReader,
  DecisionLogUnreadable,
  type DecisionFilter,
  type DecisionRow,
} from './decision-log-reader.js';
import { localTime } from './local-time.js';

export interface DecisionsOptions {
  stateDir: string;
  filter: DecisionFilter;
  /** Rows printed at first. */
  limit: number;
  json: boolean;
  follow: boolean;
  /** Poll interval with `follow`, ms. */
  pollMs?: number;
  /** Resolves when `--follow` should end (SIGINT/SIGTERM). */
  stop?: Promise<void>;
}

/** sysexits(3) EX_NOINPUT. */
export const EXIT_NO_INPUT = 66;
/** New rows printed per poll at most; the rest come with the next poll. */
const FOLLOW_BATCH = 1_000;
const DEFAULT_POLL_MS = 1_000;
/** Column caps of the table, characters; longer values are cut with `…`. */
const CAPS = { pipeline: 16, id: 18, decision: 12, reason: 14 };

export async function decisionsCommand(
  options: DecisionsOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  let reader: DecisionLogReader;
  try {
    reader = DecisionLogReader.open(options.stateDir);
  } catch (error) {
    if (!(error instanceof DecisionLogUnreadable)) throw error;
    err.write(`infergate: ${error.message}\n`);
    return EXIT_NO_INPUT;
  }
  try {
    const rows = reader.latest(options.filter, options.limit);
    if (options.json) for (const row of rows) out.write(jsonLine(row));
    else if (rows.length > 0) out.write(table(rows, true));
    if (rows.length === 0 && !options.json)
      err.write(`no decisions${describe(options.filter)} in ${reader.file}\n`);
    if (!options.follow) return 0;

    let last = rows.at(-1)?.seq ?? reader.headSeq();
    let header = rows.length === 0;
    const stop = options.stop ?? new Promise<void>(() => undefined);
    let stopped = false;
    void stop.then(() => (stopped = true));
    while (!stopped) {
      await Promise.race([stop, sleep(options.pollMs ?? DEFAULT_POLL_MS)]);
      if (stopped) break;
      if (reader.copy && reader.stale) {
        // The gateway started (or wrote) since the copy was taken: read the live file from now on.
        try {
          const fresh = DecisionLogReader.open(options.stateDir);
          reader.close();
          reader = fresh;
        } catch {
          continue;
        }
      }
      const fresh = reader.after(last, options.filter, FOLLOW_BATCH);
      if (fresh.length === 0) continue;
      last = fresh.at(-1)!.seq;
      if (options.json) for (const row of fresh) out.write(jsonLine(row));
      else out.write(table(fresh, header));
      header = false;
    }
    return 0;
  } finally {
    reader.close();
  }
}

/**
 * `--since`: ISO 8601, epoch milliseconds, or an age such as `90s`, `15m`, `2h`, `7d`. Null when unreadable.
 */
export function parseSinceArgument(value: string, now = Date.now()): number | null {
  const age = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (age !== null) {
    const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(age[1]) * unitMs;
  }
  const number = Number(value);
  if (value.trim() !== '' && Number.isFinite(number)) return number;
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) ? parsed : null;
}

function jsonLine(row: DecisionRow): string {
  return `${JSON.stringify({
    seq: row.seq,
    pipeline: row.pipeline,
    id: row.id,
    topic: row.topic,
    decision: row.decision,
    source: row.source,
    reason: row.reason,
    score: row.score,
    model: row.model,
    modelSha256: row.modelSha256,
    latencyMs: Math.round(row.latencyMs * 1000) / 1000,
    budgetMs: row.budgetMs,
    receivedAt: new Date(row.receivedAt).toISOString(),
    decidedAt: new Date(row.decidedAt).toISOString(),
    state: row.state,
  })}\n`;
}

const HEADINGS = ['decided (local)', 'pipeline', 'id', 'decision', 'source', 'reason', 'score', 'latency'];
/** Right-aligned columns. */
const NUMERIC = new Set([6, 7]);

function table(rows: readonly DecisionRow[], header: boolean): string {
  const cells = rows.map((row) => [
    // The year is left out to keep a row within 100 columns; --json carries full ISO times.
    localTime(row.decidedAt, true).slice(5),
    cut(row.pipeline, CAPS.pipeline),
    cut(row.id, CAPS.id),
    cut(row.decision, CAPS.decision),
    row.source,
    cut(row.reason, CAPS.reason),
    row.score === null ? '-' : row.score.toFixed(3),
    `${row.latencyMs < 10 ? row.latencyMs.toFixed(1) : Math.round(row.latencyMs)} ms`,
  ]);
  // Widths from the headings and these rows; a follow batch may widen a column, which is fine for a log.
  const widths = HEADINGS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (NUMERIC.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [...(header ? [line(HEADINGS)] : []), ...cells.map(line)].map((l) => `${l}\n`).join('');
}

function cut(value: string, cap: number): string {
  return value.length > cap ? `${value.slice(0, cap - 1)}…` : value;
}

function describe(filter: DecisionFilter): string {
  const parts = [
    filter.pipeline === undefined ? null : `pipeline ${filter.pipeline}`,
    filter.source === undefined ? null : `source ${filter.source}`,
    filter.reason === undefined ? null : `reason ${filter.reason}`,
    filter.since === undefined ? null : `since ${new Date(filter.since).toISOString()}`,
  ].filter((p): p is string => p !== null);
  return parts.length === 0 ? '' : ` matching ${parts.join(', ')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
