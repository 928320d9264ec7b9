/**
 * Node-RED for the bench, installed on first use into a cache folder outside the checkout (it is not a
 * dependency of infergate): Node-RED 4.1, the line that runs on Node 20 (Node-RED 5 needs Node 22), and the
 * onnxruntime-node the gateway uses, from the npm registry.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './children.js';

export const NODERED_SPEC = 'node-red@~4.1.0';
export const NODERED_LINE = '4.1.';
export const ONNXRUNTIME_VERSION = '1.30.0';

export interface NodeRedInstall {
  dir: string;
  /** Node-RED's entry script. */
  redJs: string;
  /** The installed onnxruntime-node package folder. */
  onnxruntimeDir: string;
  version: string;
}

/** `$XDG_CACHE_HOME/infergate-bench/nodered`, or `~/.cache/infergate-bench/nodered`. */
export function defaultNodeRedDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cache, 'infergate-bench', 'nodered');
}

function installedVersion(dir: string, name: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

function installed(dir: string): NodeRedInstall | null {
  const version = installedVersion(dir, 'node-red');
  if (version === null || !version.startsWith(NODERED_LINE)) return null;
  if (installedVersion(dir, 'onnxruntime-node') !== ONNXRUNTIME_VERSION) return null;
  return {
    dir,
    redJs: join(dir, 'node_modules', 'node-red', 'red.js'),
    onnxruntimeDir: join(dir, 'node_modules', 'onnxruntime-node'),
    version,
  };
}

/**
 * The install in `dir`, made with `npm install` when missing or of other versions. The folder's `.npmrc`
 * skips onnxruntime-node's postinstall, which would fetch CUDA files from outside the npm registry; the
 * CPU binaries come in the package itself.
 */
export async function ensureNodeRed(dir: string, logPath: string): Promise<NodeRedInstall> {
  const found = installed(dir);
  if (found) return found;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
  if (!existsSync(join(dir, 'package.json'))) {
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'infergate-bench-nodered', private: true, description: 'Node-RED for npm run bench' }, null, 2)}\n`,
    );
  }
  console.log(`installing ${NODERED_SPEC} and onnxruntime-node@${ONNXRUNTIME_VERSION} into ${dir} ...`);
  const npm = startChild(
    'npm install',
    'npm',
    ['install', '--no-audit', '--no-fund', NODERED_SPEC, `onnxruntime-node@${ONNXRUNTIME_VERSION}`],
    { logPath, cwd: dir },
  );
  const timer = setTimeout(() => void npm.stop(1000), 10 * 60_000);
  const exit = await npm.exited;
  clearTimeout(timer);
  const done = installed(dir);
  if (exit.code !== 0 || !done) {
    throw new Error(`npm install in ${dir} failed (${exit.code ?? exit.signal})\n${npm.logTail()}`);
  }
  return done;
}
