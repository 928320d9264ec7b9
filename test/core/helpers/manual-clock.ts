/** A Clock whose time moves only when the test says: `advance` fires the timers that come due, in order. */
import type { Clock, TimerHandle } from '../../../daemon/ports.js';

interface Timer {
  dueMono: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private wallMs: number;
  private monoMs: number;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  constructor(start: { wallMs?: number; monoMs?: number } = {}) {
    this.wallMs = start.wallMs ?? Date.UTC(2025, 0, 15, 12, 0, 0);
    this.monoMs = start.monoMs ?? 1000;
  }

  now(): number {
    return this.wallMs;
  }

  monotonic(): number {
    return this.monoMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.seq += 1;
    const timer: Timer = { dueMono: this.monoMs + Math.max(0, ms), seq: this.seq, fn };
    this.timers.add(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.timers.delete(handle as unknown as Timer);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves both clocks `ms` on, firing each timer that comes due at its own time, earliest first. */
  advance(ms: number): void {
    const target = this.monoMs + ms;
    for (let next = this.nextDue(target); next !== undefined; next = this.nextDue(target)) {
      this.timers.delete(next);
      this.moveTo(next.dueMono);
      next.fn();
    }
    this.moveTo(target);
  }

  private moveTo(mono: number): void {
    this.wallMs += mono - this.monoMs;
    this.monoMs = mono;
  }

  private nextDue(until: number): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.timers) {
      if (timer.dueMono > until) continue;
      if (
        next === undefined ||
        timer.dueMono < next.dueMono ||
        (timer.dueMono === next.dueMono && timer.seq < next.seq)
      ) {
        next = timer;
      }
    }
    return next;
  }
}
