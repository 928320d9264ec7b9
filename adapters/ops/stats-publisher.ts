/**
 * Optional periodic stats over MQTT on `infergate/<gateway.id>/stats` (QoS 0, not retained), for sites
 * that watch the gateway through the broker rather than with a Prometheus scraper. Kept off the status
 * topic, which carries only the retained `online`/`offline` that the Last Will relies on.
 */
import type { Logger, MqttTransport } from '../../daemon/ports.js';
import type { MetricsSnapshot } from './metrics-registry.js';

export interface StatsPublisherDeps {
  logger: Logger;
  transport: Pick<MqttTransport, 'publish' | 'state'>;
  snapshot(): Promise<MetricsSnapshot>;
  gatewayId: string;
  /** Seconds between messages; 0 disables the publisher. */
  intervalSec: number;
}

export interface StatsPublisher {
  start(): void;
  /** Idempotent. */
  stop(): void;
}

export function statsTopic(gatewayId: string): string {
  return `infergate/${gatewayId}/stats`;
}

export function createStatsPublisher(deps: StatsPublisherDeps): StatsPublisher {
  return new TimedStatsPublisher(deps);
}

class TimedStatsPublisher implements StatsPublisher {
  private readonly deps: StatsPublisherDeps;
  private readonly log: Logger;
  private readonly topic: string;
  private timer: NodeJS.Timeout | undefined;
  private busy: boolean;

  constructor(deps: StatsPublisherDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'stats' });
    this.topic = statsTopic(deps.gatewayId);
    this.timer = undefined;
    this.busy = false;
  }

  start(): void {
    if (this.deps.intervalSec <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.publishOnce(), this.deps.intervalSec * 1000).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async publishOnce(): Promise<void> {
    // QoS 0 is not queued while offline; a message that cannot go now is simply skipped.
    if (this.busy || this.deps.transport.state !== 'connected') return;
    this.busy = true;
    try {
      const snapshot = await this.deps.snapshot();
      const message = { ts: new Date().toISOString(), gateway: this.deps.gatewayId, ...snapshot };
      await this.deps.transport.publish(this.topic, JSON.stringify(message), { qos: 0, retain: false });
    } catch (error) {
      this.log.debug({ err: error }, 'stats not published');
    } finally {
      this.busy = false;
    }
  }
}
