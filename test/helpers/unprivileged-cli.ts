/**
 * Runs the CLI as a user that file permissions apply to: root reads any file, so under root (CI) the
 * command runs as `nobody`, in a bare environment (the test runner's NODE_OPTIONS hooks would write files
 * that user cannot, and `env -i` drops what the runner injects into spawned processes).
 */
import { spawnSync } from 'node:child_process';
import { cliPath } from './gateway-process.js';

const NOBODY = 65534;

export function unprivilegedCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot
    ? spawnSync(
        'env',
        ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, cliPath, ...args],
        {
          uid: NOBODY,
          gid: NOBODY,
          encoding: 'utf8',
          timeout: 30_000,
        },
      )
    : spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
