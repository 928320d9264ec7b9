import type { Decider } from './decider.js';
import type { ChainedEvent } from './state/types.js';
import type { EventInput, Pipeline } from './pipeline.js';
import type { TimerHandle } from './ports.js';

/** One admitted event on its way to a decision. Lives in memory from admission until it is decided. */
export interface Job {
  readonly key: string;
  readonly pipeline: Pipeline;
  /** Who decides it: the pipeline itself, or its canary candidate. */
  readonly decider: Decider;
  readonly eventId: string;
  /** What the audit chain covers of the event (topic, arrival, input hash), as the inbox holds it. */
  readonly chained: ChainedEvent;
  /** Monotonic time of arrival (ms), for latencies. */
  readonly receivedMono: number;
  /** Monotonic deadline (ms). */
  readonly deadlineMono: number;
  /** The model input: a tensor row or a rendered prompt. */
  readonly input: EventInput;
  readonly replyTopic: string | null;
  readonly correlation: Buffer | null;
  /** Set once its decision is made (by the model or a fallback); anything later for it is dropped. */
  answered: boolean;
  /** On the gateway's clock; cleared when the job is decided. */
  deadlineTimer: TimerHandle | undefined;
  /** Monotonic time the job left the queue for the model, once it has. */
  dispatchedMono?: number;
}

export function jobKey(pipeline: string, eventId: string): string {
  return `${pipeline}\u0000${eventId}`;
}

/** A job as admitted, before the fields the intake and the scheduler add. */
export type Admission = Omit<Job, 'key' | 'answered' | 'deadlineTimer' | 'dispatchedMono'>;
