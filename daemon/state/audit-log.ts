import type Database from 'better-sqlite3';
import { chainHash, GENESIS_HASH, type StoredChainRow } from './audit-chain.js';
import { stateWrite, type ChainRow, type Statements } from './statements.js';
import type { LoggedDecision, EventState } from './types.js';

/** Retention removes the chain in whole segments of this many rows, so anchors stay few and aligned. */
export const AUDIT_SEGMENT_ROWS = 1024;

/** A decision's place in the chain, written with its row. */
export interface ChainLink {
  seq: number;
  prevHash: string;
  hash: string;
}

/** What a decision's link is computed from besides the decision itself. */
export interface LinkedEvent {
  pipeline: string;
  eventId: string;
  topic: string;
  receivedAt: number;
  inputSha256: string;
}

/**
 * The decision log's side of the state database: the chain head that the next decision links to, reading
 * the chain back for `infergate audit`, and retention. The hashing and verification rules are in
 * audit-chain.ts.
 */
export class AuditLog {
  private readonly db: Database.Database;
  private readonly statements: Statements;
  /** The chain head: the last decided row's sequence number and hash. */
  private headSeq = 0;
  private headHash = GENESIS_HASH;

  constructor(db: Database.Database, statements: Statements) {
    this.db = db;
    this.statements = statements;
  }

  /** Takes the chain head from the file: at open, and after a rolled-back commit took links with it. */
  loadHead(): void {
    const head = this.statements.head.get() as { seq: number; hash: string } | undefined;
    const anchor = this.anchor();
    this.headSeq = head?.seq ?? anchor.seq;
    this.headHash = head?.hash ?? anchor.hash;
  }

  /** Where the remaining chain starts: the last pruned row, or the genesis. */
  anchor(): { seq: number; hash: string } {
    const anchor = this.statements.anchor.get() as { seq: number; hash: string } | undefined;
    return anchor ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** The link a decision of `event` gets if it is written next; `advance` makes it the head once written. */
  nextLink(event: LinkedEvent, decision: LoggedDecision): ChainLink {
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

  /** After the write of a linked row: true (and the link is the new head) when it changed one row. */
  advance(changes: number, link: ChainLink): boolean {
    if (changes !== 1) return false;
    this.headSeq = link.seq;
    this.headHash = link.hash;
    return true;
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

  /**
   * Retention: deletes the oldest whole segments of the chain whose rows were all decided before `before`
   * (ms epoch) and published, and records the last deleted row as the new anchor, so what remains still
   * verifies. Returns the number of rows deleted. Publish marks must be written first.
   */
  prune(before: number): number {
    const anchor = this.anchor();
    // The first row that must stay: too recent, or not yet acknowledged by the broker.
    const blocker = this.statements.firstKept.get(anchor.seq, before) as { seq: number } | undefined;
    const limit = blocker === undefined ? this.headSeq : blocker.seq - 1;
    const cut = anchor.seq + Math.floor((limit - anchor.seq) / AUDIT_SEGMENT_ROWS) * AUDIT_SEGMENT_ROWS;
    if (cut <= anchor.seq) return 0;
    const last = this.statements.hashAt.get(cut) as { hash: string } | undefined;
    if (last === undefined) return 0;
    return stateWrite(() =>
      this.db.transaction(() => {
        this.statements.addAnchor.run(cut, last.hash, Date.now());
        return this.statements.pruneChain.run(anchor.seq, cut).changes;
      })(),
    );
  }
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
