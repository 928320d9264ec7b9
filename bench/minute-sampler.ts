/** The soak's row per minute: what was sent and answered, latency of that minute's answers, memory, CPU. */
import { round } from './numbers.js';
import { cpuSeconds, memoryStats, percentile } from './proc-stats.js';
import type { MinuteRow } from './soak-report.js';
import type { SoakReplies } from './soak-replies.js';

export interface MinuteSamplerOptions {
  replies: SoakReplies;
  /** Events sent so far. */
  sent: () => number;
  gatewayPid: number;
  brokerPid: number;
  /** An event unanswered for this long counts as unanswered in the row. */
  overdueMs: number;
}

export class MinuteSampler {
  readonly rows: MinuteRow[] = [];
  private lastSent = 0;
  private lastCpu: number | null;
  private lastAt = performance.now();

  constructor(private readonly options: MinuteSamplerOptions) {
    this.lastCpu = cpuSeconds(options.gatewayPid);
  }

  sample(minute: number): MinuteRow {
    const { replies, gatewayPid, brokerPid, overdueMs } = this.options;
    const now = performance.now();
    const sent = this.options.sent();
    const cpu = cpuSeconds(gatewayPid);
    const answers = replies.takeMinute();
    const sorted = answers.latencies;
    const rss = memoryStats(gatewayPid)?.rssMiB ?? null;
    const firstRss = this.rows[0]?.rssMiB ?? rss;
    const row: MinuteRow = {
      minute,
      sent: sent - this.lastSent,
      sentTotal: sent,
      answeredTotal: replies.answered,
      unanswered: replies.unansweredOlderThan(sent, overdueMs),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      maxMs: round(sorted.length > 0 ? sorted[sorted.length - 1] : null),
      fallbacks: answers.fallbacks,
      rssMiB: round(rss, 1),
      rssGrowthPct: rss === null || firstRss === null ? null : round((100 * (rss - firstRss)) / firstRss, 1),
      brokerRssMiB: round(memoryStats(brokerPid)?.rssMiB, 1),
      cpuPct:
        cpu === null || this.lastCpu === null
          ? null
          : round((100 * (cpu - this.lastCpu)) / ((now - this.lastAt) / 1000), 0),
    };
    this.rows.push(row);
    this.lastSent = sent;
    this.lastCpu = cpu;
    this.lastAt = now;
    return row;
  }
}
