/**
 * Decisions per minute by pipeline, source and reason, over the last few minutes: one bucket per wall-clock
 * minute, reused in a ring, so memory stays at `minutes × series` however long the gateway runs.
 */
export interface DecisionSeries {
  pipeline: string;
  source: string;
  reason: string;
  /** One count per minute of `DecisionMinutesView.minutes`, oldest first. */
  counts: number[];
}

export interface DecisionMinutesView {
  /** Start of each minute, ms epoch, oldest first; the last one is the minute in progress. */
  minutes: number[];
  series: DecisionSeries[];
}

const MINUTE_MS = 60_000;
/** Distinct (pipeline, source, reason) triples tracked; more would be a bug elsewhere, not traffic. */
const MAX_SERIES = 256;

interface Bucket {
  minute: number;
  counts: Map<string, number>;
}

export class DecisionMinutes {
  private readonly buckets: Bucket[];
  private readonly series: Map<string, { pipeline: string; source: string; reason: string }>;

  constructor(minutes: number) {
    this.buckets = Array.from({ length: minutes }, () => ({ minute: -1, counts: new Map() }));
    this.series = new Map();
  }

  record(pipeline: string, source: string, reason: string, at: number): void {
    const key = `${pipeline}\u0000${source}\u0000${reason}`;
    if (!this.series.has(key)) {
      if (this.series.size >= MAX_SERIES) return;
      this.series.set(key, { pipeline, source, reason });
    }
    const bucket = this.bucketFor(Math.floor(at / MINUTE_MS));
    bucket.counts.set(key, (bucket.counts.get(key) ?? 0) + 1);
  }

  view(now: number): DecisionMinutesView {
    const current = Math.floor(now / MINUTE_MS);
    const length = this.buckets.length;
    const minutes = Array.from({ length }, (_, i) => current - length + 1 + i);
    const series: DecisionSeries[] = [];
    for (const [key, labels] of this.series) {
      const counts = minutes.map((minute) => {
        const bucket = this.buckets[minute % length]!;
        return bucket.minute === minute ? (bucket.counts.get(key) ?? 0) : 0;
      });
      if (counts.some((n) => n > 0)) series.push({ ...labels, counts });
    }
    return { minutes: minutes.map((m) => m * MINUTE_MS), series };
  }

  private bucketFor(minute: number): Bucket {
    const bucket = this.buckets[minute % this.buckets.length]!;
    if (bucket.minute !== minute) {
      bucket.minute = minute;
      bucket.counts.clear();
    }
    return bucket;
  }
}
