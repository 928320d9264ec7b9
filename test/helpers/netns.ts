/**
 * Network namespaces for the no-egress tests: run the daemon under `unshare -n` (root only) and run
 * probes inside its namespace with `nsenter -t PID -n`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { packageRoot } from './gateway-process.js';

export const netnsClient = join(packageRoot, 'dist', 'test', 'helpers', 'netns-client.js');
/** Bound on one command run inside a namespace, ms. */
const NSENTER_TIMEOUT_MS = 20_000;

export function netnsSupported(): boolean {
  const tools = ['unshare', 'nsenter', 'ip'].every(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0,
  );
  return tools && spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
}

/**
 * Call first in a test that needs `unshare -n`. Where it is not permitted (not root, no CAP_SYS_ADMIN, a
 * container without it), skips with a message; CI runs as root, so there a missing capability fails.
 */
export function requireNetns(t: Test): boolean {
  if (netnsSupported()) return true;
  const message = 'network namespaces not permitted here (unshare -n needs root); skipped';
  if (process.env.CI && process.getuid?.() === 0) t.fail(`${message}, but CI runs as root`);
  else t.plan(0, message);
  return false;
}

/** The network namespace a process lives in (`net:[4026531840]`). */
export function netnsOf(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

/** Interface names in the process's network namespace. */
export function interfacesOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/net/dev`, 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]!.trim())
    .filter((name) => name !== '');
}

/** TCP sockets (v4 and v6) open in the process's network namespace, as kernel table rows. */
export function tcpSocketsOf(pid: number): string[] {
  return ['tcp', 'tcp6'].flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() !== ''),
  );
}

/** Runs the netns client inside `pid`'s network namespace and returns its JSON answer. */
export function inNamespaceOf(pid: number, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), '-n', process.execPath, netnsClient, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), NSENTER_TIMEOUT_MS);
    child.on('exit', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>);
      } catch {
        reject(new Error(`netns client printed no JSON; stdout: ${stdout} stderr: ${stderr}`));
      }
    });
  });
}
