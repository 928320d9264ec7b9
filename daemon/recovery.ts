import type { FallbackReason } from './decision.js';
import type { InfergateError } from './errors.js';
import { isStale } from './event-time.js';
import { inputProblem } from './input-problem.js';
import type { Inbox } from './state/inbox.js';
import type { StoredEvent } from './state/types.js';
import type { EventInput, Pipeline } from './pipeline.js';
import type { Clock, Logger } from './ports.js';

export interface RecoveryDeps {
  inbox: Inbox;
  pipelines: readonly Pipeline[];
  clock: Clock;
  logger: Logger;
  /** True when the event is already being worked on in this run (a redelivery raced the recovery). */
  isActive(pipeline: string, eventId: string): boolean;
  /** Re-publishes a stored decision the broker never acknowledged. */
  republish(stored: StoredEvent): void;
  /** Decides a stored event at once with the pipeline's fallback (expired, or no longer valid input). */
  finish(pipeline: Pipeline, stored: StoredEvent, reason: FallbackReason, error: InfergateError | null): void;
  /** Queues a stored event for inference with a fresh deadline. */
  resume(pipeline: Pipeline, stored: StoredEvent, input: EventInput): void;
}

/**
 * Finishes what a previous run left in the inbox: decisions the broker had not acknowledged are published
 * again (same id, same message), pending events are inferred, or answered `expired` when older than the
 * pipeline's `maxEventAgeMs`.
 */
export function recoverInbox(deps: RecoveryDeps): { republished: number; resumed: number; expired: number } {
  const { inbox, clock } = deps;
  const unpublished = inbox.unpublished();
  for (const stored of unpublished) deps.republish(stored);
  let resumed = 0;
  let expired = 0;
  for (const stored of inbox.pending()) {
    if (deps.isActive(stored.pipeline, stored.eventId)) continue;
    const pipeline = deps.pipelines.find((p) => p.config.name === stored.pipeline);
    if (pipeline === undefined) {
      deps.logger.warn(
        { pipeline: stored.pipeline, id: stored.eventId },
        'pending event of a removed pipeline left as is',
      );
      continue;
    }
    const stale = isStale(clock.now(), { ...stored, eventTime: null }, pipeline.config.maxEventAgeMs);
    // A staged decoder's payload is not kept (see Pipeline.keepsPayload); nothing to infer from.
    if (stale || stored.payload === null || pipeline.completeDecode !== null) {
      expired += 1;
      deps.finish(pipeline, stored, 'expired', null);
      continue;
    }
    let input: EventInput;
    try {
      input = pipeline.encode(pipeline.decoder(stored.payload, stored.topic));
    } catch (error) {
      // The pipeline's input mapping changed since the event was accepted.
      deps.finish(pipeline, stored, 'invalid_input', inputProblem(error));
      continue;
    }
    resumed += 1;
    deps.resume(pipeline, stored, input);
  }
  return { republished: unpublished.length, resumed, expired };
}
