import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop lag is reported over the last completed window of this length, ms. */
const LAG_WINDOW_MS = 10_000;
/** monitorEventLoopDelay sampling resolution, ms. */
const LAG_RESOLUTION_MS = 10;

export interface LagWindow {
  p50: number;
  p99: number;
  max: number;
}

/**
 * Event-loop delay over fixed windows: scrapes and stats messages read the last completed window, and
 * reading never resets it, so two readers cannot hide each other's spikes.
 */
export class LagMonitor {
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last: LagWindow | undefined;

  constructor() {
    this.histogram = undefined;
    this.timer = undefined;
    this.last = undefined;
  }

  start(): void {
    if (this.histogram !== undefined) return;
    const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    histogram.enable();
    this.histogram = histogram;
    this.timer = setInterval(() => {
      this.last = readLag(histogram);
      histogram.reset();
    }, LAG_WINDOW_MS).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  /** The last completed window; until one has completed, the one in progress. */
  current(): LagWindow {
    if (this.last !== undefined) return this.last;
    return this.histogram === undefined ? { p50: 0, p99: 0, max: 0 } : readLag(this.histogram);
  }
}

/** Seconds; the histogram holds nanoseconds and reads NaN/huge values until it has samples. */
function readLag(histogram: IntervalHistogram): LagWindow {
  if (histogram.count === 0) return { p50: 0, p99: 0, max: 0 };
  return {
    p50: histogram.percentile(50) / 1e9,
    p99: histogram.percentile(99) / 1e9,
    max: histogram.max / 1e9,
  };
}
