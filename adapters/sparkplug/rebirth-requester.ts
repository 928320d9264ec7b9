import type { Clock, Logger } from '../../daemon/ports.js';
import { encodePayload } from './payload.js';
import { commandTopic, nodeKey } from './topic.js';

export interface RebirthRequesterDeps {
  /** Publishes a command: QoS 0, not retained (3.0 §7.4: NCMD is QoS 0). */
  publish(topic: string, payload: Buffer): Promise<void>;
  minIntervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Edge nodes whose last request time is remembered; the oldest is forgotten beyond it. */
  maxEdgeNodes: number;
}

/** The metric of a rebirth request (3.0 §6.4.20, NCMD). */
export const REBIRTH_METRIC = 'Node Control/Rebirth';

/**
 * Asks an edge node to publish its NBIRTH and DBIRTHs again, at most once per `minIntervalMs` per edge
 * node: a node that keeps sending DATA while it rebirths (or cannot rebirth) is not flooded with commands.
 */
export class RebirthRequester {
  private readonly deps: RebirthRequesterDeps;
  private readonly lastRequestMs = new Map<string, number>();
  requested = 0;
  suppressed = 0;

  constructor(deps: RebirthRequesterDeps) {
    this.deps = deps;
  }

  /** True when a request went out now; false when one went out less than `minIntervalMs` ago. */
  request(group: string, edge: string, reason: string): boolean {
    const key = nodeKey(group, edge);
    const now = this.deps.clock.monotonic();
    const last = this.lastRequestMs.get(key);
    if (last !== undefined && now - last < this.deps.minIntervalMs) {
      this.suppressed += 1;
      return false;
    }
    this.lastRequestMs.delete(key);
    if (this.lastRequestMs.size >= this.deps.maxEdgeNodes) {
      const oldest = this.lastRequestMs.keys().next().value;
      if (oldest !== undefined) this.lastRequestMs.delete(oldest);
    }
    this.lastRequestMs.set(key, now);
    this.requested += 1;
    const payload = Buffer.from(
      encodePayload({
        timestamp: this.deps.clock.now(),
        metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: true }],
      }),
    );
    this.deps.logger.info({ edgeNode: key, reason }, 'sparkplug rebirth requested');
    this.deps.publish(commandTopic(group, edge, null), payload).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, edgeNode: key }, 'sparkplug rebirth request not sent');
    });
    return true;
  }
}
