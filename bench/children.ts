/**
 * Child processes of a benchmark run. Every child is tracked from spawn to exit so that a failure, Ctrl-C
 * or a plain exit of the orchestrator leaves no stray process behind.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly exited: Promise<ChildExit>;
  isRunning(): boolean;
  /** Everything the child wrote on stdout so far (bounded). */
  stdout(): string;
  /** The last lines of stdout + stderr, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Child>();
const procs = new Map<Child, ChildProcess>();

export interface StartOptions {
  /** File that receives the child's stdout and stderr. */
  logPath: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Open an IPC channel: our own children exit when it closes, i.e. when the orchestrator dies. */
  ipc?: boolean;
}

export function startChild(name: string, command: string, args: string[], options: StartOptions): Child {
  const stdio: StdioOptions = options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const startedAt = performance.now();
  const proc = spawn(command, args, { cwd: options.cwd, env: options.env, stdio });
  const log: WriteStream = createWriteStream(options.logPath, { flags: 'a' });
  let out = '';
  let tail = '';
  const keepTail = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-8192);
  };
  proc.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    keepTail(chunk);
    if (out.length < 4 * 1024 * 1024) out += chunk.toString('utf8');
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    keepTail(chunk);
  });
  // Without a listener, a failed spawn or kill would throw as an unhandled 'error' event.
  proc.on('error', (err) => keepTail(Buffer.from(`\n[${name}] ${err.message}\n`)));

  let done = false;
  const exited = new Promise<ChildExit>((resolve) => {
    const finish = (exit: ChildExit): void => {
      if (done) return;
      done = true;
      running.delete(child);
      procs.delete(child);
      log.end();
      resolve(exit);
    };
    proc.once('exit', (code, signal) => finish({ code, signal }));
    // A spawn failure (ENOENT) may emit 'error' without 'exit'.
    proc.once('error', () => {
      if (proc.pid === undefined) finish({ code: null, signal: null });
    });
  });

  let stopping: Promise<void> | undefined;
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    startedAt,
    exited,
    isRunning: () => !done,
    stdout: () => out,
    logTail: () => tail,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (done) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  running.add(child);
  procs.set(child, proc);
  return child;
}

/** Resolves when the child prints a line matching `pattern`; rejects if it exits first or time runs out. */
export function waitForLine(child: Child, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(check, 20);
    const timer = setTimeout(
      () =>
        finish(new Error(`${child.name}: no '${pattern.source}' within ${timeoutMs} ms\n${child.logTail()}`)),
      timeoutMs,
    );
    void child.exited.then((exit) => {
      if (seen()) finish();
      else
        finish(
          new Error(
            `${child.name} exited (${exit.code ?? exit.signal}) before '${pattern.source}'\n${child.logTail()}`,
          ),
        );
    });
    let settled = false;
    function seen(): boolean {
      return child
        .stdout()
        .split('\n')
        .some((line) => pattern.test(line));
    }
    function check(): void {
      if (seen()) finish();
    }
    function finish(err?: Error): void {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    }
  });
}

/** Stops every child still running, in parallel. */
export async function stopAllChildren(graceMs = 5000): Promise<void> {
  await Promise.all([...running].map((child) => child.stop(graceMs)));
}

/** Last resort on process exit: synchronous, so it can run in an 'exit' handler. */
export function killAllChildrenNow(): void {
  for (const proc of procs.values()) {
    try {
      proc.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
