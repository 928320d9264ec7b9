import type { Duplex } from 'node:stream';

/**
 * Holds a connection's writes from the moment a chunk of inbound data arrives until the check phase of the
 * same event-loop turn (`setImmediate`), then lets them go in one syscall. Two gains:
 *
 * - Without Nagle every packet was a syscall of its own (mqtt-packet corks per packet and uncorks on the next
 *   tick): under load the PUBACKs of a burst made socket writes a visible share of the main thread.
 * - The PUBACKs of the turn wait behind `beforeRelease`, which makes the events they acknowledge durable, so
 *   a chunk of N events costs one state commit instead of N.
 *
 * If `beforeRelease` throws, the held writes are dropped with the connection: nothing acknowledges an event
 * that is not on record, and the broker redelivers those messages when the session resumes
 * [MQTT-4.4.0-1]. No write waits past the turn it was made in, and `end()` uncorks by itself.
 */
export class WriteWindow {
  private readonly socket: Duplex;
  private readonly beforeRelease: () => void;
  private holding: boolean;

  constructor(socket: Duplex, beforeRelease: () => void) {
    this.socket = socket;
    this.beforeRelease = beforeRelease;
    this.holding = false;
  }

  /** True while writes are held: whatever is written now leaves only after `beforeRelease` succeeded. */
  get held(): boolean {
    return this.holding;
  }

  /** Holds writes at every inbound chunk. Call before MQTT.js pipes the socket into its parser. */
  watch(): void {
    this.socket.on('data', () => this.hold());
  }

  private hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.socket.cork();
    setImmediate(() => this.release());
  }

  private release(): void {
    this.holding = false;
    try {
      this.beforeRelease();
    } catch (error) {
      // A corked socket that is destroyed never writes what it holds.
      this.socket.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.socket.uncork();
  }
}
