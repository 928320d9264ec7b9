import type { Writable } from 'node:stream';
import type { Logger } from '../../daemon/ports.js';

/**
 * Bytes written to the broker connection that the kernel has not taken yet, beyond which new inbound
 * events wait. The kernel's own send buffer (megabytes on loopback) is full by then: the broker is not
 * reading. A turn's burst of PUBACKs and decisions is tens of KiB, far below it.
 */
export const MAX_UNSENT_BYTES = 1024 * 1024;
/**
 * Longest an event waits for the backlog to drain, ms. A broker that stops reading until we read (aedes
 * waits for its own writes to drain) would otherwise never drain: handling the next event reads on.
 */
export const BACKLOG_WAIT_MS = 100;
/** A held intake is logged at most this often, ms. */
const LOG_INTERVAL_MS = 60_000;

/**
 * Flow control towards the broker. When it cannot keep up (overload), every decision we publish stayed in
 * our process: the connection's write buffer and MQTT.js's unacknowledged-publish store grew without bound
 * (bench/README.md has the figures). Holding the next inbound event instead leaves the
 * events where they already are, in the broker, until it reads again: the unsent bytes stay near this
 * bound. (Publishes the broker has acknowledged while their PUBACKs still wait behind inbound events in our
 * receive buffer stay in MQTT.js's store until we read that far: bounded by the buffer, not by time.)
 */
export class OutboundBacklog {
  private readonly logger: Logger;
  private holds: number;
  private loggedAt: number;

  constructor(logger: Logger) {
    this.logger = logger;
    this.holds = 0;
    this.loggedAt = -Infinity;
  }

  /** Inbound events held back so far. */
  get held(): number {
    return this.holds;
  }

  /**
   * Undefined when `stream` has room (no promise on the hot path); else resolves once it drained, closed,
   * or BACKLOG_WAIT_MS passed.
   */
  wait(stream: Writable | undefined): Promise<void> | undefined {
    if (stream === undefined || stream.writableLength <= MAX_UNSENT_BYTES) return undefined;
    this.holds += 1;
    const now = performance.now();
    if (now - this.loggedAt >= LOG_INTERVAL_MS) {
      this.loggedAt = now;
      this.logger.warn(
        { unsentBytes: stream.writableLength, heldSoFar: this.holds },
        'broker is not reading our publishes: holding inbound events until it does',
      );
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stream.off('drain', done);
        stream.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, BACKLOG_WAIT_MS);
      stream.once('drain', done);
      stream.once('close', done);
    });
  }
}
