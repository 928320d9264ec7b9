/**
 * sd_notify(3) for `Type=notify` units: READY, RELOADING, STOPPING, STATUS and the watchdog ping, sent as
 * datagrams to `$NOTIFY_SOCKET`. Node has no Unix datagram sockets of its own; `node-unix-socket` ships
 * prebuilt binaries, so no compiler is needed on the box. Spawning `systemd-notify` instead would send
 * from another pid and need `NotifyAccess=all`. Without `$NOTIFY_SOCKET` (not under systemd) every call
 * is a no-op.
 */
import type { DgramSocket } from 'node-unix-socket';
import type { Logger } from '../../daemon/ports.js';

export interface SystemdNotifierDeps {
  logger: Logger;
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read from; normally process.env. */
  env: NodeJS.ProcessEnv;
}

export interface SystemdNotifier {
  /** True when systemd asked for notifications. */
  readonly enabled: boolean;
  /** Watchdog ping period (half of `WatchdogSec=`), ms; null when the unit has no watchdog. */
  readonly watchdogIntervalMs: number | null;
  /** Opens the socket and starts pinging the watchdog from a main-loop timer. */
  start(): Promise<void>;
  /** Startup or a reload is complete: the gateway is serving. */
  ready(status: string): void;
  /** A reload (SIGHUP) has begun; call `ready()` when it is done. */
  reloading(status: string): void;
  /** A stop has begun. */
  stopping(status: string): void;
  /** One line for `systemctl status`. */
  status(text: string): void;
  /** Stops the watchdog and closes the socket. Idempotent. */
  stop(): void;
}

/** Longest STATUS= text sent; systemctl shows one line. */
const MAX_STATUS_CHARS = 200;
/** Bounds on the ping period derived from WATCHDOG_USEC, ms. */
const MIN_WATCHDOG_INTERVAL_MS = 50;
const MAX_WATCHDOG_INTERVAL_MS = 3_600_000;

export function createSystemdNotifier(deps: SystemdNotifierDeps): SystemdNotifier {
  const address = notifyAddress(deps.env.NOTIFY_SOCKET);
  const watchdog = watchdogInterval(deps.env);
  const log = deps.logger.child({ component: 'systemd' });
  if (address !== null && typeof address === 'object')
    log.warn({ notifySocket: deps.env.NOTIFY_SOCKET }, address.problem);
  if (watchdog !== null && typeof watchdog === 'object')
    log.warn({ watchdogUsec: deps.env.WATCHDOG_USEC }, watchdog.problem);
  if (typeof address !== 'string') return new DisabledNotifier();
  return new DatagramNotifier(log, address, typeof watchdog === 'number' ? watchdog : null);
}

/** The socket address: a path, or `\0name` for an abstract socket (`@name` in the variable). */
function notifyAddress(value: string | undefined): string | null | { problem: string } {
  if (value === undefined || value === '') return null;
  if (value.startsWith('@') && value.length > 1) return `\0${value.slice(1)}`;
  if (value.startsWith('/')) return value;
  return { problem: 'NOTIFY_SOCKET is neither a path nor an abstract socket: systemd is not notified' };
}

/** sd_watchdog_enabled(3): WATCHDOG_USEC, for this process only when WATCHDOG_PID names it. */
function watchdogInterval(env: NodeJS.ProcessEnv): number | null | { problem: string } {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === '') return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && env.WATCHDOG_PID !== String(process.pid)) {
    return null;
  }
  if (!/^\d+$/.test(usec) || Number(usec) === 0)
    return { problem: 'WATCHDOG_USEC is not a positive integer' };
  const half = Math.floor(Number(usec) / 2000);
  return Math.min(Math.max(half, MIN_WATCHDOG_INTERVAL_MS), MAX_WATCHDOG_INTERVAL_MS);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, MAX_STATUS_CHARS);
}

class DisabledNotifier implements SystemdNotifier {
  readonly enabled = false;
  readonly watchdogIntervalMs = null;
  async start(): Promise<void> {}
  ready(): void {}
  reloading(): void {}
  stopping(): void {}
  status(): void {}
  stop(): void {}
}

class DatagramNotifier implements SystemdNotifier {
  readonly enabled = true;
  readonly watchdogIntervalMs: number | null;
  private readonly log: Logger;
  private readonly address: string;
  private socket: DgramSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures: number;
  private stopped: boolean;

  constructor(log: Logger, address: string, watchdogIntervalMs: number | null) {
    this.log = log;
    this.address = address;
    this.watchdogIntervalMs = watchdogIntervalMs;
    this.socket = undefined;
    this.timer = undefined;
    this.failures = 0;
    this.stopped = false;
  }

  async start(): Promise<void> {
    if (this.socket !== undefined || this.stopped) return;
    try {
      const { DgramSocket } = await import('node-unix-socket');
      this.socket = new DgramSocket();
    } catch (error) {
      this.log.error(
        { err: error },
        'cannot notify systemd: node-unix-socket did not load (run the unit as Type=exec instead)',
      );
      return;
    }
    this.socket.on('error', (error: Error) => this.onFailure(error));
    const interval = this.watchdogIntervalMs;
    if (interval !== null) {
      this.send('WATCHDOG=1');
      // A main-loop timer on purpose: a blocked event loop stops the pings, and systemd restarts us.
      this.timer = setInterval(() => this.send('WATCHDOG=1'), interval).unref();
    }
    this.log.info({ watchdogIntervalMs: interval }, 'notifying systemd');
  }

  ready(status: string): void {
    this.send(`READY=1\nSTATUS=${oneLine(status)}`);
  }

  reloading(status: string): void {
    // systemd ≥ 253 (Type=notify-reload) wants the monotonic time of the reload start with RELOADING=1.
    const monotonicUsec = process.hrtime.bigint() / 1000n;
    this.send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec}\nSTATUS=${oneLine(status)}`);
  }

  stopping(status: string): void {
    this.send(`STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  status(text: string): void {
    this.send(`STATUS=${oneLine(text)}`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // An open datagram socket would keep the event loop (and the process) alive.
    this.socket?.close();
    this.socket = undefined;
  }

  private send(message: string): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const buffer = Buffer.from(message, 'utf8');
    try {
      socket.sendTo(buffer, 0, buffer.length, this.address, (error) => {
        if (error !== undefined && error !== null) this.onFailure(error);
      });
    } catch (error) {
      this.onFailure(error as Error);
    }
  }

  private onFailure(error: Error): void {
    this.failures += 1;
    // The first failure says what is wrong; repeating it with every watchdog ping would flood the journal.
    if (this.failures === 1) {
      this.log.error({ err: error, notifySocket: this.address }, 'systemd notification failed');
    } else {
      this.log.debug({ err: error, failures: this.failures }, 'systemd notification failed');
    }
  }
}
