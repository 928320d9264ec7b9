/**
 * Recent end-to-end latencies of one pipeline, for the status page's live p50/p99: a fixed ring of the
 * last decisions with their times, read over a sliding window. Recording is two typed-array writes; the
 * sort happens only when someone looks.
 */
export interface LatencySummary {
  /** Decisions inside the window (at most the ring's capacity). */
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Share of those decisions at or under `budgetMs`, 0..1; null when there are none. */
  withinBudget: number | null;
}

export class LatencyWindow {
  private readonly latencies: Float64Array;
  private readonly times: Float64Array;
  private readonly windowMs: number;
  private next: number;
  private filled: number;

  constructor(capacity: number, windowMs: number) {
    this.latencies = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.windowMs = windowMs;
    this.next = 0;
    this.filled = 0;
  }

  record(latencyMs: number, at: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    this.latencies[this.next] = latencyMs;
    this.times[this.next] = at;
    this.next = (this.next + 1) % this.latencies.length;
    if (this.filled < this.latencies.length) this.filled += 1;
  }

  summary(now: number, budgetMs: number): LatencySummary {
    const recent: number[] = [];
    const since = now - this.windowMs;
    for (let i = 0; i < this.filled; i++) if (this.times[i]! >= since) recent.push(this.latencies[i]!);
    if (recent.length === 0) return { count: 0, p50Ms: null, p99Ms: null, maxMs: null, withinBudget: null };
    recent.sort((a, b) => a - b);
    const within = recent.filter((ms) => ms <= budgetMs).length;
    return {
      count: recent.length,
      p50Ms: round(quantile(recent, 0.5)),
      p99Ms: round(quantile(recent, 0.99)),
      maxMs: round(recent[recent.length - 1]!),
      withinBudget: round(within / recent.length),
    };
  }
}

/** Nearest-rank quantile of sorted values (a value that occurred, never an interpolation). */
function quantile(sorted: readonly number[], q: number): number {
  const rank = Math.max(Math.ceil(q * sorted.length), 1);
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
