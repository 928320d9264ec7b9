/**
 * Jittered exponential backoff for reconnect attempts. MQTT.js only knows a fixed `reconnectPeriod`; the
 * transport feeds it from here before every attempt.
 *
 * Jitter keeps a fleet of gateways from reconnecting in lockstep after a broker restart (the thundering herd
 * the jitter variants in "Exponential Backoff And Jitter", AWS Architecture Blog, 2015, were measured
 * against). Unlike the published formulas, no delay is ever below `minMs`: near-zero delays against a
 * refusing broker are the storm a backoff exists to prevent, and MQTT.js reads a period of 0 as "never".
 */

export type BackoffJitter = 'full' | 'decorrelated';

export interface ReconnectBackoffOptions {
  /** First and smallest delay, milliseconds; values below 1 ms count as 1 ms. */
  minMs: number;
  /** Largest delay, milliseconds; values below `minMs` count as `minMs`. */
  maxMs: number;
  /** `full` (default): uniform in [min, min·2^attempt] capped at max. `decorrelated`: uniform in [min, 3·previous]. */
  jitter?: BackoffJitter;
  /** Uniform in [0, 1). Injected so tests are deterministic. */
  random?: () => number;
}

const FACTOR = 2;
/** The decorrelated variant grows from the previous delay; ×3 is the published multiplier. */
const DECORRELATED_MULTIPLIER = 3;

export class ReconnectBackoff {
  readonly minMs: number;
  readonly maxMs: number;
  readonly jitter: BackoffJitter;
  private readonly random: () => number;
  private attempt: number;
  private previousMs: number;

  constructor(options: ReconnectBackoffOptions) {
    this.minMs = Math.max(1, Math.ceil(options.minMs));
    this.maxMs = Math.max(this.minMs, Math.floor(options.maxMs));
    this.jitter = options.jitter ?? 'full';
    this.random = options.random ?? Math.random;
    this.attempt = 0;
    this.previousMs = this.minMs;
  }

  /** The delay before the next attempt, whole milliseconds in [minMs, maxMs]. */
  next(): number {
    const upper =
      this.jitter === 'decorrelated'
        ? Math.min(this.maxMs, this.previousMs * DECORRELATED_MULTIPLIER)
        : Math.min(this.maxMs, this.minMs * FACTOR ** this.attempt);
    const delay = clamp(
      Math.round(this.minMs + this.random() * (upper - this.minMs)),
      this.minMs,
      this.maxMs,
    );
    // Stop counting once the cap is reached so FACTOR ** attempt never overflows to Infinity.
    if (upper < this.maxMs) this.attempt += 1;
    this.previousMs = delay;
    return delay;
  }

  /** Back to the first delay, after a successful connect. */
  reset(): void {
    this.attempt = 0;
    this.previousMs = this.minMs;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
