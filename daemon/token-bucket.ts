/** A token bucket: `take()` succeeds at most `ratePerSec` times a second on average, `burst` at once. */
export class TokenBucket {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(ratePerSec: number, burst: number, now: () => number = () => performance.now()) {
    this.ratePerMs = ratePerSec / 1000;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.ratePerMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
