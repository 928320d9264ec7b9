import { hash } from 'node:crypto';

/**
 * The decision log is a hash chain: every decided row gets the next sequence number and
 * `hash = sha256(prevHash ‖ canonical(row))`, so editing a row breaks its own hash and deleting one leaves
 * a gap in the sequence and a `prevHash` that no longer links. Pruning removes a whole prefix of the chain
 * and records the last removed row's hash as the anchor the remaining chain starts from.
 *
 * What it cannot show on its own: removal of the newest rows (the chain is shorter but consistent). Export
 * the head hash (`infergate audit verify` prints it) to somewhere the box's user cannot write to close that.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** The fields a decision row's hash covers: everything about the decision, nothing that changes later. */
export interface ChainedFields {
  seq: number;
  pipeline: string;
  eventId: string;
  topic: string;
  receivedAt: number;
  inputSha256: string;
  decision: string;
  source: string;
  reason: string;
  modelSha256: string | null;
  latencyMs: number;
  decidedAt: number;
  message: string;
}

export function chainHash(prevHash: string, row: ChainedFields): string {
  const canonical = JSON.stringify([
    row.seq,
    row.pipeline,
    row.eventId,
    row.topic,
    row.receivedAt,
    row.inputSha256,
    row.decision,
    row.source,
    row.reason,
    row.modelSha256,
    row.latencyMs,
    row.decidedAt,
    row.message,
  ]);
  // One-shot: cheaper than a createHash() object, and this runs once per decision on the hot path.
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}

export interface ChainProblem {
  seq: number;
  kind: 'gap' | 'link' | 'hash';
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  /** Where the remaining chain starts (0 = genesis). */
  anchorSeq: number;
  headSeq: number;
  headHash: string;
  problems: ChainProblem[];
}

export interface StoredChainRow extends ChainedFields {
  prevHash: string;
  hash: string;
}

/** Walks rows in sequence order from the anchor and reports every break; stops collecting after `limit`. */
export function verifyChain(
  anchor: { seq: number; hash: string },
  rows: Iterable<StoredChainRow>,
  limit = 100,
): VerifyResult {
  const problems: ChainProblem[] = [];
  let expectedSeq = anchor.seq + 1;
  let runningHash = anchor.hash;
  let count = 0;
  let headSeq = anchor.seq;
  for (const row of rows) {
    count += 1;
    if (row.seq !== expectedSeq && problems.length < limit) {
      problems.push({
        seq: row.seq,
        kind: 'gap',
        message: `expected seq ${expectedSeq}, found ${row.seq}: ${row.seq - expectedSeq} row(s) missing`,
      });
    }
    if (row.prevHash !== runningHash && problems.length < limit) {
      problems.push({ seq: row.seq, kind: 'link', message: 'prevHash does not match the previous row' });
    }
    const recomputed = chainHash(row.prevHash, row);
    if (recomputed !== row.hash && problems.length < limit) {
      problems.push({ seq: row.seq, kind: 'hash', message: 'row contents do not match its hash (edited)' });
    }
    runningHash = row.hash;
    expectedSeq = row.seq + 1;
    headSeq = row.seq;
  }
  return {
    ok: problems.length === 0,
    rows: count,
    anchorSeq: anchor.seq,
    headSeq,
    headHash: runningHash,
    problems,
  };
}
