/**
 * A private Mosquitto for one benchmark run, on a free loopback port, tuned so the broker is not the
 * bottleneck. The settings, and why:
 *
 * - `set_tcp_nodelay true`: the default (false) lets Nagle's algorithm delay small packets; measured here it
 *   moved a bare loop's p50 from ~1.4 ms to ~30 ms.
 * - `max_inflight_messages 0` (default 20): no cap on unacknowledged QoS 1 messages the broker sends to a
 *   client. With MQTT 5 a client that sends its own Receive Maximum in CONNECT (the gateway does) gets that
 *   instead; with 0 the broker also leaves Receive Maximum out of its CONNACK, so publishers may have up to
 *   65,535 in flight towards it. At 20, the load generator's reply stream and the system under test's
 *   inbound stream would queue in the broker behind 20 outstanding PUBACKs whenever a client's event loop
 *   is busy, which would add broker queueing to the measured latency.
 * - `max_queued_messages 100000` (default 1000): above the in-flight window, messages are queued per client;
 *   past the limit they are dropped silently while the publisher still gets its PUBACK. An overloaded step
 *   must show up as late or unanswered events, not as drops inside the broker.
 * - `persistence false`, `allow_anonymous true`, one `127.0.0.1` listener: a throwaway broker nobody else
 *   can reach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

export interface MosquittoOptions {
  /** Directory for the generated config file. */
  dir: string;
  binary?: string;
  maxQueuedMessages?: number;
}

export interface RunningMosquitto {
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  readonly configPath: string;
  /** The last lines Mosquitto logged (errors, warnings, notices). */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 3 s. Idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_MOSQUITTO_BINARY = '/usr/sbin/mosquitto';

export function mosquittoConfig(port: number, maxQueuedMessages: number): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'set_tcp_nodelay true',
    'max_inflight_messages 0',
    `max_queued_messages ${maxQueuedMessages}`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    '',
  ].join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startOnce(options: MosquittoOptions, attempt: number): Promise<RunningMosquitto> {
  const port = await freePort();
  const configPath = join(options.dir, `mosquitto-${attempt}.conf`);
  writeFileSync(configPath, mosquittoConfig(port, options.maxQueuedMessages ?? 100_000));
  const child = spawn(options.binary ?? DEFAULT_MOSQUITTO_BINARY, ['-c', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if (!(await waitExit(child, 3000))) {
        child.kill('SIGKILL');
        await waitExit(child, 2000);
      }
    })();
    return stopped;
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    const failed = await Promise.race([
      spawnError,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 50)),
    ]);
    if (failed)
      throw new Error(`cannot start ${options.binary ?? DEFAULT_MOSQUITTO_BINARY}: ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw Object.assign(
        new Error(`mosquitto exited at start (${child.exitCode ?? child.signalCode}):\n${log}`),
        {
          portInUse: /address already in use/i.test(log),
        },
      );
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within 10 s:\n${log}`);
    }
  }

  return {
    port,
    pid: child.pid ?? -1,
    url: `mqtt://127.0.0.1:${port}`,
    configPath,
    logTail: () => log,
    stop,
  };
}

/** Starts Mosquitto; retries on another port if the chosen one was taken between probing and binding. */
export async function startMosquitto(options: MosquittoOptions): Promise<RunningMosquitto> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, attempt);
    } catch (err) {
      if (attempt < 3 && (err as { portInUse?: boolean }).portInUse) continue;
      throw err;
    }
  }
}
