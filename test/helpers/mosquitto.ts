/**
 * A private Mosquitto per test: own config, own port (and optionally own Unix socket and persistence file)
 * in a temp dir, so tests can stop, kill and restart "the broker" without touching the system one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Test } from 'tap';

export interface MosquittoOptions {
  /** Lines appended to the generated mosquitto.conf. */
  extraConfig?: string[];
  /** Persist sessions and queued messages to the temp dir, saving on every change. */
  persistence?: boolean;
  /** Also listen on `<dir>/mosquitto.sock`. */
  unixSocket?: boolean;
}

export interface MosquittoBroker {
  /** `mqtt://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Set when started with `unixSocket: true`. */
  readonly socketPath: string | undefined;
  /** Temp dir holding the config, the socket and the persistence file; removed when the process exits. */
  readonly dir: string;
  /** PID of the current Mosquitto process. */
  readonly pid: number;
  /** SIGTERM (Mosquitto saves its persistence file), then waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal without waiting (SIGKILL for a crash). */
  kill(signal: NodeJS.Signals): void;
  /** Stops the broker if it runs and starts it again on the same port and dir. */
  restart(): Promise<void>;
  /** What Mosquitto logged so far (last 64 KiB), for failure messages. */
  output(): string;
}

/** Bound for Mosquitto to accept a TCP connection after spawning, milliseconds. */
const READY_TIMEOUT_MS = 5_000;
/** Bound for Mosquitto to exit after SIGTERM before SIGKILL, milliseconds. */
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_LIMIT_BYTES = 64 * 1024;
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/opt/homebrew/sbin'];

const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The Mosquitto binary: `$MOSQUITTO_BIN`, else `mosquitto` on PATH or in the usual sbin dirs. */
export function mosquittoPath(): string | undefined {
  if (process.env.MOSQUITTO_BIN) return process.env.MOSQUITTO_BIN;
  const dirsToSearch = [...(process.env.PATH ?? '').split(delimiter), ...SBIN_DIRS].filter((d) => d !== '');
  for (const dir of dirsToSearch) {
    const candidate = join(dir, 'mosquitto');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function mosquittoAvailable(): boolean {
  return mosquittoPath() !== undefined;
}

/**
 * Call first in a test file that needs Mosquitto. Without it: skips the file locally, fails it in CI
 * (`CI` set), where a missing broker must never turn a suite green. Returns whether to go on.
 */
export function requireMosquitto(t: Test): boolean {
  if (mosquittoAvailable()) return true;
  const message = 'mosquitto not found (install mosquitto or set MOSQUITTO_BIN)';
  if (process.env.CI) {
    t.fail(`${message}; CI must not skip broker tests`);
  } else {
    t.plan(0, message);
  }
  return false;
}

/** A port that was free a moment ago: listen on 0, read it, close. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const binary = mosquittoPath();
  if (binary === undefined) throw new Error('mosquitto not found (install mosquitto or set MOSQUITTO_BIN)');
  const dir = mkdtempSync(join(tmpdir(), 'infergate-mosquitto-'));
  dirs.add(dir);
  // Started as root, Mosquitto drops to the `mosquitto` user, which must create the socket and the db here.
  chmodSync(dir, 0o777);
  const socketPath = options.unixSocket ? join(dir, 'mosquitto.sock') : undefined;
  const configPath = join(dir, 'mosquitto.conf');

  let port = 0;
  let child: ChildProcess | undefined;
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT_BYTES);
  };

  const writeConfig = (): void => {
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
    ];
    if (socketPath !== undefined) lines.push(`listener 0 ${socketPath}`, 'allow_anonymous true');
    if (options.persistence) {
      lines.push(
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 1',
        'autosave_on_changes true',
      );
    } else {
      lines.push('persistence false');
    }
    lines.push(...(options.extraConfig ?? []));
    writeFileSync(configPath, lines.join('\n') + '\n', { mode: 0o644 });
  };

  const spawnOnce = async (): Promise<void> => {
    writeConfig();
    const proc = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    running.add(proc);
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    proc.once('exit', () => running.delete(proc));
    await waitReady(proc, port, () => output);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  // A port can be taken between freePort() and Mosquitto's bind by a parallel test: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await spawnOnce();
      break;
    } catch (error) {
      await stop();
      if (attempt >= 3) throw error;
    }
  }

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    socketPath,
    dir,
    get pid(): number {
      return child?.pid ?? -1;
    },
    stop,
    kill(signal: NodeJS.Signals): void {
      child?.kill(signal);
    },
    async restart(): Promise<void> {
      await stop();
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      }
      await spawnOnce();
    },
    output: () => output,
  };
}

async function waitReady(proc: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`mosquitto exited (${proc.exitCode ?? proc.signalCode}) on start:\n${output()}`);
    }
    if (await canConnect(port)) return;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(
        `mosquitto did not accept connections on ${port} within ${READY_TIMEOUT_MS} ms:\n${output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
