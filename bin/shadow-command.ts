import { readShadowComparisons } from '../daemon/state/shadow-log.js';
import { openStateDatabaseReadOnly } from '../daemon/state/schema.js';
import { formatShadowReport, shadowReport } from './shadow-report.js';

/**
 * `infergate shadow report --pipeline P [--since T] [--json]`: how the pipeline's shadow model decided
 * against the live one on the events on record (read-only; safe while the daemon runs).
 */
export function shadowReportCommand(
  stateDir: string,
  pipeline: string,
  since: number,
  json: boolean,
  out: NodeJS.WritableStream,
): number {
  const db = openStateDatabaseReadOnly(stateDir);
  try {
    const report = shadowReport(pipeline, since, readShadowComparisons(db, pipeline, since));
    out.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatShadowReport(report));
    return 0;
  } finally {
    db.close();
  }
}
