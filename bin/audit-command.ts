import { verifyChain } from '../daemon/state/audit-chain.js';
import { Inbox } from '../daemon/state/inbox.js';

/** Exit code when the chain is broken: the log was edited or rows were removed. */
export const EXIT_TAMPERED = 1;

/**
 * `infergate audit verify`: walks the decision log's hash chain from its anchor and lists every break.
 * Prints the head (seq and hash) so it can be recorded elsewhere: a log cut short after that point is
 * then detectable too.
 */
export function auditVerify(
  stateDir: string,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  const inbox = Inbox.openReadOnly(stateDir);
  try {
    const anchor = inbox.anchor();
    const result = verifyChain(anchor, inbox.chain(anchor.seq));
    for (const problem of result.problems)
      err.write(`seq ${problem.seq}: ${problem.kind}: ${problem.message}\n`);
    const summary = `${result.rows} decision rows from seq ${result.anchorSeq + 1} to ${result.headSeq}; head ${result.headHash}`;
    if (result.ok) {
      out.write(`ok: ${summary}\n`);
      return 0;
    }
    err.write(`TAMPERED: ${result.problems.length} problem(s) in ${summary}\n`);
    return EXIT_TAMPERED;
  } finally {
    void inbox.close();
  }
}

/** `infergate audit export --since T`: decided rows as JSON lines, in chain order, with their hashes. */
export function auditExport(stateDir: string, since: number, out: NodeJS.WritableStream): number {
  const inbox = Inbox.openReadOnly(stateDir);
  try {
    for (const row of inbox.decidedSince(since)) {
      out.write(
        `${JSON.stringify({
          seq: row.seq,
          pipeline: row.pipeline,
          id: row.eventId,
          topic: row.topic,
          receivedAt: new Date(row.receivedAt).toISOString(),
          decidedAt: new Date(row.decidedAt).toISOString(),
          decision: row.decision,
          source: row.source,
          reason: row.reason,
          modelSha256: row.modelSha256,
          latencyMs: row.latencyMs,
          inputSha256: row.inputSha256,
          message: row.message,
          state: row.state,
          prevHash: row.prevHash,
          hash: row.hash,
        })}\n`,
      );
    }
    return 0;
  } finally {
    void inbox.close();
  }
}

/** `--since` takes ISO 8601 or epoch milliseconds. */
export function parseSince(value: string): number | null {
  const number = Number(value);
  if (value.trim() !== '' && Number.isFinite(number)) return number;
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) ? parsed : null;
}
