/**
 * The environment the shipped systemd unit gives the daemon (`Environment=` lines of
 * systemd/infergate.service: V8 heap flags, MALLOC_ARENA_MAX, ...). Memory and latency depend on it, so a
 * soak or bench that reports them for "the gateway as installed" runs the gateway with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const UNIT_FILE = join('systemd', 'infergate.service');

export function unitEnvironment(repoRoot: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(repoRoot, UNIT_FILE), 'utf8').split('\n')) {
    const match = /^Environment=(.*)$/.exec(line.trim());
    if (match === null) continue;
    for (const assignment of splitAssignments(match[1]!)) {
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/** systemd's word splitting for Environment=: whitespace-separated, double quotes group (systemd.exec(5)). */
function splitAssignments(value: string): string[] {
  const words: string[] = [];
  for (const match of value.matchAll(/"([^"]*)"|(\S+)/g)) words.push(match[1] ?? match[2]!);
  return words;
}
