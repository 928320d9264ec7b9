/**
 * What the state database holds of an event, as the rest of the gateway sees it (see inbox.ts for the life
 * of a row).
 */

export type EventState = 'pending' | 'decided' | 'published';

export interface NewEvent {
  pipeline: string;
  eventId: string;
  topic: string;
  receivedAt: number;
  deadlineAt: number;
  /** When the event stops being worth answering with a model decision (MQTT 5 Message Expiry), ms epoch. */
  expiresAt: number | null;
  responseTopic: string | null;
  correlation: Buffer | null;
  /** Null when the pipeline keeps no payload on record (images): a restart then answers the event `expired`. */
  payload: Buffer | null;
  inputSha256: string;
}

export interface LoggedDecision {
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

/** What the audit chain covers of an event besides its key (see audit-chain.ts). */
export interface ChainedEvent {
  topic: string;
  receivedAt: number;
  inputSha256: string;
}

/** An event as read back: what was recorded on arrival, and how far it got. */
export interface StoredEvent extends NewEvent {
  state: EventState;
  /** The decision message, once decided. */
  message: string | null;
  replyTopic: string | null;
}

/**
 * When a new event is durable: `on-insert` commits in `insert()`; `on-flush` leaves it in the open
 * transaction until `flush()` (or the end of the turn), for a caller that calls `flush()` before the
 * event's acknowledgement can leave (see DurabilityBarrier in ../ports.ts).
 */
export type InsertDurability = 'on-insert' | 'on-flush';
