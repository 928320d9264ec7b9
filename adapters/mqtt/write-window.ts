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
/**
 * Acknowledgements one held turn collects before they are let go early, messages. A backlog (a reconnect,
 * a burst after a stall) arrives as megabytes in one turn: libuv reads a socket up to 32 × 64 KiB at a
 * time, thousands of events. Held to the turn's end, the first of them would wait for the last (at
 * ~0.2 ms each, seconds past any budget) and the held PUBACKs and decisions would pile up in memory.
 * 128 events still share one commit and one syscall, and wait ~20–40 ms at most.
 */
export const MAX_HELD_ACKS = 128;

export class WriteWindow {
  private readonly socket: Duplex;
  private readonly beforeRelease: () => void;
  private holding: boolean;
  /** Acknowledgements written since the turn began holding, or since the last early release. */
  private acks: number;

  constructor(socket: Duplex, beforeRelease: () => void) {
    this.socket = socket;
    this.beforeRelease = beforeRelease;
    this.holding = false;
    this.acks = 0;
  }

  /** True while writes are held: whatever is written now leaves only after `beforeRelease` succeeded. */
  get held(): boolean {
    return this.holding;
  }

  /** Holds writes at every inbound chunk. Call before MQTT.js pipes the socket into its parser. */
  watch(): void {
    this.socket.on('data', () => this.hold());
  }

  /**
   * An inbound message was acknowledged while writes are held. Every MAX_HELD_ACKS of them, the turn's
   * records are made durable and the held writes leave now; the rest of the turn is held again.
   */
  acknowledged(): void {
    if (!this.holding || ++this.acks < MAX_HELD_ACKS) return;
    this.acks = 0;
    if (!this.runBeforeRelease()) return;
    this.socket.uncork();
    this.socket.cork();
  }

  private hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.acks = 0;
    this.socket.cork();
    setImmediate(() => this.release());
  }

  private release(): void {
    this.holding = false;
    if (this.runBeforeRelease()) this.socket.uncork();
  }

  private runBeforeRelease(): boolean {
    try {
      this.beforeRelease();
      return true;
    } catch (error) {
      // A corked socket that is destroyed never writes what it holds.
      this.socket.destroy(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  }
}
