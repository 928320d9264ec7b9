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
 *
 * Sampling wakes the process every LAG_RESOLUTION_MS: measured, that was ~100 of an idle gateway's ~104
 * wake-ups per second and most of its idle CPU. So it samples only while events arrive: a window in which
 * no event arrived (`touch`) is the last one, and the next event starts sampling again. While it rests,
 * readers get the last window it completed, which was measured with no events arriving. A scrape does not
 * wake it, or a scraped gateway would never rest.
 */
export class LagMonitor {
  private readonly windowMs: number;
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last: LagWindow | undefined;
  /** An event arrived in the window in progress. */
  private touched: boolean;

  /** `windowMs` is LAG_WINDOW_MS but for tests. */
  constructor(windowMs = LAG_WINDOW_MS) {
    this.windowMs = windowMs;
    this.histogram = undefined;
    this.timer = undefined;
    this.last = undefined;
    this.touched = false;
  }

  start(): void {
    if (this.histogram !== undefined) return;
    this.histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.wake();
  }

  /** An event arrived. Called per event: costs a flag unless the monitor was resting. */
  touch(): void {
    this.touched = true;
    if (this.timer === undefined && this.histogram !== undefined) this.wake();
  }

  /** Whether it is sampling now (it rests after a window with no event). */
  get sampling(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    this.rest();
    this.histogram = undefined;
  }

  /** The last completed window; until one has completed, the one in progress. */
  current(): LagWindow {
    if (this.last !== undefined) return this.last;
    return this.histogram === undefined ? { p50: 0, p99: 0, max: 0 } : readLag(this.histogram);
  }

  private wake(): void {
    const histogram = this.histogram;
    if (histogram === undefined) return;
    histogram.reset();
    histogram.enable();
    this.timer = setInterval(() => {
      this.last = readLag(histogram);
      histogram.reset();
      if (!this.touched) this.rest();
      this.touched = false;
    }, this.windowMs).unref();
  }

  private rest(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
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
