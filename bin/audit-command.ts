import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, isInfergateError } from '../daemon/errors.js';
import { verifyChain } from '../daemon/state/audit-chain.js';
import { Inbox } from '../daemon/state/inbox.js';
import { INBOX_FILE } from '../daemon/state/schema.js';

/** Exit code when the chain is broken: the log was edited or rows were removed. */
export const EXIT_TAMPERED = 1;
/** sysexits(3) EX_NOINPUT: the state directory or its database is missing or cannot be read. */
export const EXIT_NO_INPUT = 66;

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
  const inbox = openDecisionLog(stateDir, err);
  if (inbox === null) return EXIT_NO_INPUT;
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
export function auditExport(
  stateDir: string,
  since: number,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = process.stderr,
): number {
  const inbox = openDecisionLog(stateDir, err);
  if (inbox === null) return EXIT_NO_INPUT;
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

/**
 * Opens the state database read-only, or says on `err` why it cannot (missing directory, no database yet,
 * permission denied, not a database) and returns null: these are the operator's input, not a crash.
 */
function openDecisionLog(stateDir: string, err: NodeJS.WritableStream): Inbox | null {
  const file = join(stateDir, INBOX_FILE);
  const problem = inputProblem(stateDir, file);
  if (problem !== null) {
    err.write(`infergate: ${problem}\n`);
    return null;
  }
  try {
    return Inbox.openReadOnly(stateDir);
  } catch (error) {
    if (isInfergateError(error) && error.code === ErrorCodes.STATE_OPEN) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
      err.write(`infergate: ${error.message}${cause}\n`);
      return null;
    }
    // SQLite's own refusals (not a database, corrupt, locked for reading) are about the file, too.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      err.write(`infergate: cannot read the decision log ${file}: ${(error as Error).message} (${code})\n`);
      return null;
    }
    throw error;
  }
}

function inputProblem(stateDir: string, file: string): string | null {
  try {
    if (!statSync(stateDir).isDirectory()) return `state directory ${stateDir} is not a directory`;
  } catch (error) {
    return `state directory ${stateDir}: ${errnoText(error)} (state.dir in the config, or --state DIR)`;
  }
  try {
    statSync(file);
    accessSync(file, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return `no decision log in ${stateDir}: ${INBOX_FILE} not found (has the gateway run?)`;
    return `cannot read the decision log ${file}: ${errnoText(error)} (run as root or the service user)`;
  }
  return null;
}

function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? String(error);
}
