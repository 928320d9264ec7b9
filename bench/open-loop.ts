/**
 * Open-loop sending: event i is due at `start + i / rate` whatever the system under test does. A closed loop
 * (send the next event when the last one is answered) slows down with the system and hides its queueing;
 * terminals and PLCs do not wait for each other, so the load must not either.
 */

export interface OpenLoopOptions {
  /** Events per second. */
  rate: number;
  /** Events to send in all. */
  total: number;
  /** Sends event `i`; `now` is its send time (performance.now()), the moment its latency counts from. */
  send(i: number, now: number): void;
  /** Checked before each send: true ends the loop early. */
  shouldStop?: () => boolean;
}

export class OpenLoop {
  /** When event 0 is due, on the performance.now() clock. */
  readonly start: number;
  readonly intervalMs: number;
  /** Resolves when every event was sent or `shouldStop` said so. */
  readonly done: Promise<void>;
  private next = 0;

  constructor(private readonly options: OpenLoopOptions) {
    this.intervalMs = 1000 / options.rate;
    // A little slack so the first events are not already late when the caller's next statement runs.
    this.start = performance.now() + 20;
    this.done = new Promise((resolve) => setTimeout(() => this.sendDue(resolve), this.delayUntil(0)));
  }

  /** Events sent so far. */
  get sent(): number {
    return this.next;
  }

  dueAt(i: number): number {
    return this.start + i * this.intervalMs;
  }

  private delayUntil(i: number, now = performance.now()): number {
    return Math.max(0, this.dueAt(i) - now);
  }

  private stopped(): boolean {
    return this.next >= this.options.total || (this.options.shouldStop?.() ?? false);
  }

  /**
   * Sends everything due by now, in slices of at most 1 ms so that replies arriving meanwhile are timestamped
   * promptly, then sleeps until the next event is due. Scheduling against absolute times (not a repeating
   * interval) keeps the rate exact when a timer fires late: the backlog goes out at once.
   */
  private sendDue(resolve: () => void): void {
    const sliceStart = performance.now();
    let now = sliceStart;
    while (!this.stopped() && this.dueAt(this.next) <= now) {
      this.options.send(this.next, now);
      this.next++;
      now = performance.now();
      if (now - sliceStart >= 1) {
        setImmediate(() => this.sendDue(resolve));
        return;
      }
    }
    if (this.stopped()) {
      resolve();
      return;
    }
    setTimeout(() => this.sendDue(resolve), this.delayUntil(this.next, now));
  }
}
