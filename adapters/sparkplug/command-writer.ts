import type { SparkplugCommandsConfig } from '../../daemon/config.js';
import type { Clock, Logger } from '../../daemon/ports.js';
import { encodePayload } from './payload.js';
import { commandTopic, type SparkplugTopic } from './topic.js';

export interface CommandWriterDeps {
  config: SparkplugCommandsConfig;
  /** Publishes a command: QoS 0, not retained (3.0 §7.4: NCMD and DCMD are QoS 0). */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Commands go only to a device (or edge node) with a BIRTH on record and no DEATH since. */
  isBorn(group: string, edge: string, device: string | null): boolean;
  clock: Clock;
  logger: Logger;
  /** Events awaiting their decision; the oldest is forgotten beyond it. */
  maxPending: number;
}

type Target = Pick<SparkplugTopic, 'group' | 'edge' | 'device'>;

/** What a command needs from a decision message (DESIGN.md, external contract). */
interface Decided {
  id: string;
  decision: string;
  score: number | null;
}

/**
 * Writes each Sparkplug event's decision back to where the event came from: a DCMD to the device, or an
 * NCMD to the edge node for NDATA. It sees the decisions the core publishes (the host transport hands it
 * every publish), so a command goes out exactly when the decision does: after it is on record.
 */
export class CommandWriter {
  private readonly deps: CommandWriterDeps;
  /** Event id → where its DATA came from, until its decision is published. */
  private readonly pending = new Map<string, Target>();
  written = 0;
  skipped = 0;

  constructor(deps: CommandWriterDeps) {
    this.deps = deps;
  }

  get enabled(): boolean {
    return this.deps.config.mode !== 'off';
  }

  /** Records where a decoded event came from. */
  expect(eventId: string, target: Target): void {
    if (!this.enabled) return;
    this.pending.delete(eventId);
    if (this.pending.size >= this.deps.maxPending) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(eventId, { group: target.group, edge: target.edge, device: target.device });
  }

  /**
   * Given each publish of the core. For a decision of a pending event: writes the command and returns what
   * the core should await in place of its own publish (`instead`), or undefined (`also`, or no command).
   */
  intercept(payload: Buffer | string): Promise<void> | undefined {
    if (this.pending.size === 0) return undefined;
    const decided = readDecision(payload);
    if (decided === null) return undefined;
    const target = this.pending.get(decided.id);
    if (target === undefined) return undefined;
    this.pending.delete(decided.id);
    if (!this.deps.isBorn(target.group, target.edge, target.device)) {
      // The JSON decision still goes out, whatever the mode: every event gets its answer.
      this.skipped += 1;
      this.deps.logger.debug(
        { id: decided.id, edgeNode: `${target.group}/${target.edge}`, device: target.device },
        'no command: the device has no live BIRTH',
      );
      return undefined;
    }
    const sent = this.write(target, decided);
    if (this.deps.config.mode === 'instead') return sent;
    sent.catch(() => undefined);
    return undefined;
  }

  private write(target: Target, decided: Decided): Promise<void> {
    const { decisionMetric, rejectMetric, rejectDecision, scoreMetric } = this.deps.config;
    const metrics: {
      name: string;
      type: 'String' | 'Boolean' | 'Double';
      value: string | boolean | number;
    }[] = [];
    if (decisionMetric !== null)
      metrics.push({ name: decisionMetric, type: 'String', value: decided.decision });
    if (rejectMetric !== null) {
      metrics.push({ name: rejectMetric, type: 'Boolean', value: decided.decision === rejectDecision });
    }
    if (scoreMetric !== null && decided.score !== null) {
      metrics.push({ name: scoreMetric, type: 'Double', value: decided.score });
    }
    const payload = Buffer.from(encodePayload({ timestamp: this.deps.clock.now(), metrics }));
    const topic = commandTopic(target.group, target.edge, target.device);
    this.written += 1;
    return this.deps.publish(topic, payload).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, id: decided.id, topic }, 'sparkplug command not sent');
      throw error;
    });
  }
}

/** The id, decision and score of a decision message; null for anything else the core publishes. */
function readDecision(payload: Buffer | string): Decided | null {
  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { id, decision, score } = body as Record<string, unknown>;
  if (typeof id !== 'string' || typeof decision !== 'string') return null;
  return { id, decision, score: typeof score === 'number' ? score : null };
}
