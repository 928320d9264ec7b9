#!/usr/bin/env node
/**
 * `npm run bundle`: the offline install bundle `infergate-<version>-linux-<arch>[-<gpu>].tar.gz` for a box
 * with no internet and no compiler. It holds the built `dist/`, the production dependencies copied from
 * this checkout's installed `node_modules` (nothing is downloaded) with only the target's prebuilt native
 * code, the config, the sample models, the systemd units, the docs and `install.sh`.
 *
 *   node dist/tools/bundle/bundle.js [--out DIR] [--arch x64|arm64] [--gpu cuda|vulkan] [--llama-source]
 *                                    [--keep-staging]
 *
 * Every native addon and library in the bundle is checked to be built for the target architecture, so a
 * bundle that would not load on its box is never written. Exit 0 and the sizes on success; 64 usage, 66
 * when the checkout is not built or installed, 65 when a native binary does not match the target.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { elfMachine, isNativeCodeName } from './elf-machine.js';
import {
  GPU_BUILDS,
  keepFile,
  packageExclusion,
  type BundleArch,
  type BundleGpu,
  type BundleTarget,
} from './platform-filter.js';
import { productionTree, readManifest } from './production-tree.js';

const EXIT = { OK: 0, USAGE: 64, DATA: 65, NO_INPUT: 66 } as const;
const USAGE =
  'usage: bundle [--out DIR] [--arch x64|arm64] [--gpu cuda|vulkan] [--llama-source] [--keep-staging]';

/** Compiled folders that are not part of the shipped program. */
const DIST_EXCLUDED = ['test', 'bench', 'tools/dev'];
/** Top-level files and folders copied as they are. */
const COPIED = ['models', 'systemd', 'docs', 'package.json', 'README.md', 'LICENSE'];

class BundleError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface BundleResult {
  file: string;
  compressedBytes: number;
  unpackedBytes: number;
  packages: number;
}

export interface BundleOptions {
  /** The checkout to bundle: dist/ built, node_modules installed. */
  root: string;
  outDir: string;
  target: BundleTarget;
  keepStaging?: boolean;
}

export function buildBundle(options: BundleOptions): BundleResult {
  const { root, target } = options;
  const manifest = readManifest(root);
  if (!existsSync(join(root, 'dist', 'bin', 'infergate.js'))) {
    throw new BundleError(`${root}/dist is not built: npm run build first`, EXIT.NO_INPUT);
  }
  const name = `${manifest.name}-${manifest.version}-linux-${target.arch}${target.gpu === null ? '' : `-${target.gpu}`}`;
  const outDir = resolve(options.outDir);
  const staging = join(outDir, name);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });

  copyProgram(root, staging);
  const packages = copyProductionTree(root, staging, target);
  checkRequiredBinaries(staging, target);
  checkNativeArchitecture(staging, target.arch);
  writeFileSync(
    join(staging, 'bundle.json'),
    `${JSON.stringify(
      {
        name: manifest.name,
        version: manifest.version,
        platform: 'linux',
        arch: target.arch,
        gpu: target.gpu,
        // The native addons were built against this Node ABI: the box needs a Node with the same one.
        nodeAbi: process.versions.modules,
        builtWithNode: process.version,
        packages,
      },
      null,
      2,
    )}\n`,
  );

  const file = join(outDir, `${name}.tar.gz`);
  const tar = spawnSync(
    'tar',
    ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', file, '-C', outDir, name],
    { encoding: 'utf8' },
  );
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr || tar.error?.message}`);
  const unpackedBytes = treeBytes(staging);
  if (options.keepStaging !== true) rmSync(staging, { recursive: true, force: true });
  return { file, compressedBytes: statSync(file).size, unpackedBytes, packages };
}

function copyProgram(root: string, staging: string): void {
  const dist = join(root, 'dist');
  cpSync(dist, join(staging, 'dist'), {
    recursive: true,
    filter: (source) => {
      const path = relative(dist, source).split(sep).join('/');
      if (DIST_EXCLUDED.some((excluded) => path === excluded || path.startsWith(`${excluded}/`)))
        return false;
      // tsc never deletes: a compiled file whose source is gone (moved or removed) stays out.
      const compiled = /^(.*)\.js(\.map)?$/.exec(path);
      return compiled === null || existsSync(join(root, `${compiled[1]}.ts`));
    },
  });
  // Only the shipped configs: config/ also holds the validator's sources.
  const config = join(root, 'config');
  mkdirSync(join(staging, 'config'));
  for (const entry of readdirSync(config)) {
    if (/\.ya?ml$/.test(entry)) cpSync(join(config, entry), join(staging, 'config', entry));
  }
  cpSync(join(config, 'examples'), join(staging, 'config', 'examples'), { recursive: true });
  for (const part of COPIED) {
    if (existsSync(join(root, part))) cpSync(join(root, part), join(staging, part), { recursive: true });
  }
  cpSync(join(root, 'tools', 'bundle', 'install.sh'), join(staging, 'install.sh'));
}

/** Copies each production package (without its nested node_modules, listed on their own). */
function copyProductionTree(root: string, staging: string, target: BundleTarget): number {
  let count = 0;
  for (const pkg of productionTree(root)) {
    if (packageExclusion(pkg, target) !== null) continue;
    const source = join(root, pkg.dir);
    cpSync(source, join(staging, pkg.dir), {
      recursive: true,
      dereference: true,
      filter: (file) => {
        const path = relative(source, file).split(sep).join('/');
        if (path === 'node_modules' || path.startsWith('node_modules/')) return false;
        return path === '' || keepFile(pkg, path, target);
      },
    });
    count += 1;
  }
  return count;
}

function checkRequiredBinaries(staging: string, target: BundleTarget): void {
  const modules = join(staging, 'node_modules');
  const required = [
    `better-sqlite3/build/Release/better_sqlite3.node`,
    `onnxruntime-node/bin/napi-v6/linux/${target.arch}/onnxruntime_binding.node`,
    `@node-llama-cpp/linux-${target.arch}/package.json`,
    `node-unix-socket-linux-${target.arch}-gnu/package.json`,
    ...(target.gpu === null ? [] : [`@node-llama-cpp/linux-${target.arch}-${target.gpu}/package.json`]),
  ];
  const missing = required.filter((path) => !existsSync(join(modules, path)));
  if (missing.length > 0) {
    throw new BundleError(
      `not installed in node_modules for linux-${target.arch}: ${missing.join(', ')} (see docs/install.md, offline bundle)`,
      EXIT.NO_INPUT,
    );
  }
}

function checkNativeArchitecture(staging: string, arch: BundleArch): void {
  const wrong: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && isNativeCodeName(entry.name)) {
        const machine = elfMachine(path);
        if (machine !== null && machine !== arch) wrong.push(`${relative(staging, path)} (${machine})`);
      }
    }
  };
  walk(join(staging, 'node_modules'));
  if (wrong.length > 0) {
    throw new BundleError(
      `native code built for another architecture than ${arch}; build these on a linux-${arch} box ` +
        `(npm ci there), see docs/install.md:\n  ${wrong.join('\n  ')}`,
      EXIT.DATA,
    );
  }
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else total += lstatSync(path).size;
  }
  return total;
}

const MIB = 1024 * 1024;

function main(argv: string[]): number {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        arch: { type: 'string' },
        gpu: { type: 'string' },
        'llama-source': { type: 'boolean' },
        'keep-staging': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`bundle: ${(error as Error).message}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  const arch = (values.arch ?? process.arch) as string;
  if (arch !== 'x64' && arch !== 'arm64') {
    process.stderr.write(`bundle: --arch must be x64 or arm64, got ${arch}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  const gpu = (values.gpu ?? null) as string | null;
  if (gpu !== null && !(GPU_BUILDS[arch] as readonly string[]).includes(gpu)) {
    const builds = GPU_BUILDS[arch];
    process.stderr.write(
      `bundle: --gpu for linux-${arch} takes ${builds.length === 0 ? 'nothing: node-llama-cpp has no prebuilt GPU build for it (a Jetson builds llama.cpp on the box, docs/install.md)' : builds.join(' or ')}, got ${gpu}\n`,
    );
    return EXIT.USAGE;
  }
  try {
    const result = buildBundle({
      root,
      outDir: (values.out as string | undefined) ?? join(root, 'dist-bundle'),
      target: { arch, gpu: gpu as BundleGpu | null, llamaSource: values['llama-source'] === true },
      keepStaging: values['keep-staging'] === true,
    });
    process.stdout.write(
      `${result.file}\n  ${(result.compressedBytes / MIB).toFixed(1)} MiB compressed, ` +
        `${(result.unpackedBytes / MIB).toFixed(1)} MiB unpacked, ${result.packages} packages\n`,
    );
    return EXIT.OK;
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    process.stderr.write(`bundle: ${error.message}\n`);
    return error.exitCode;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
