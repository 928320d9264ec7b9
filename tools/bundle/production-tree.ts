/**
 * The production dependency tree of a package, read from an installed `node_modules` (no registry, no
 * download): the closure of `dependencies`, `optionalDependencies` and installed peers, resolved the way
 * Node resolves them (the requiring package's own `node_modules`, then each parent's). It lists the same
 * folders as `npm ls --omit=dev --parseable --all` on a plain install, and stays right when `node_modules`
 * is a link to a shared install, where npm marks half the tree extraneous.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export interface InstalledPackage {
  name: string;
  /** The folder, relative to the root package: `node_modules/a/node_modules/b`. */
  dir: string;
  manifest: PackageManifest;
}

export interface PackageManifest {
  name?: string;
  version?: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Every installed production package under `root`, each folder once, sorted by folder. */
export function productionTree(root: string): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>();
  const missing: string[] = [];
  const visit = (fromDir: string, manifest: PackageManifest): void => {
    const optional = new Set(Object.keys(manifest.optionalDependencies ?? {}));
    // An optional peer (node-llama-cpp's typescript) is the host's choice, not a production dependency.
    const peers = Object.keys(manifest.peerDependencies ?? {}).filter(
      (name) => manifest.peerDependenciesMeta?.[name]?.optional !== true,
    );
    const names = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...peers,
    ]);
    for (const name of names) {
      const dir = resolvePackageDir(root, fromDir, name);
      if (dir === null) {
        // Other platforms' optional binaries are not installed here, and need not be.
        if (!optional.has(name)) {
          missing.push(`${name} (required by ${manifest.name ?? fromDir})`);
        }
        continue;
      }
      const key = relative(root, dir).split(sep).join('/');
      if (found.has(key)) continue;
      const child = readManifest(dir);
      found.set(key, { name, dir: key, manifest: child });
      visit(dir, child);
    }
  };
  visit(root, readManifest(root));
  if (missing.length > 0) {
    throw new Error(`production dependencies not installed (run npm ci first): ${missing.join(', ')}`);
  }
  return [...found.values()].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

/** Node's lookup: `<dir>/node_modules/<name>`, then the same in each parent folder up to `root`. */
function resolvePackageDir(root: string, fromDir: string, name: string): string | null {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || relative(root, dir).startsWith('..')) return null;
    let parent = dirname(dir);
    // From node_modules/@scope/pkg, the next folder to look in is the one holding node_modules.
    while (parent !== root && /(^|[\\/])(node_modules|@[^\\/]+)$/.test(parent)) parent = dirname(parent);
    if (parent === dir) return null;
    dir = parent;
  }
}

export function readManifest(dir: string): PackageManifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageManifest;
}
