/**
 * The runtime sources import each other without cycles: a cycle makes module evaluation order depend on which
 * file is imported first (a class or constant read before its module ran is `undefined`), and it is the usual
 * sign of two concepts that were not separated. Type-only imports count too: they are erased at run time, but
 * a type cycle still ties two files together. The scan reads every relative `import`, `export ... from` and
 * `import()` with TypeScript's own pre-processor, resolves `./x.js` to `./x.ts` (or `./x/index.ts`), and
 * names each cycle it finds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { packageRoot } from './helpers/gateway-process.js';

/** Runtime code and the shipped tools. */
const SCANNED_DIRS = ['adapters', 'bin', 'config', 'daemon', 'tools'];

function sources(dir: string): string[] {
  const absolute = join(packageRoot, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The repository-relative `.ts` file a relative specifier names, or undefined when it names none. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  const base = join(dirname(join(packageRoot, from)), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find((candidate) => candidate.endsWith('.ts') && existsSync(candidate));
  return found === undefined ? undefined : relative(packageRoot, found).split('\\').join('/');
}

function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(packageRoot, file), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    const targets = new Set<string>();
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolveSpecifier(file, fileName);
      if (target !== undefined) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** One cycle per strongly connected component (Tarjan), each written `a.ts -> b.ts -> a.ts`. */
function findCycles(graph: Map<string, string[]>): string[] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[] = [];

  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    const selfImport = (graph.get(node) ?? []).includes(node);
    if (component.length > 1 || selfImport) cycles.push(describeCycle(graph, new Set(component)));
  };

  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

/** A shortest path from the component's first file back to itself, inside the component. */
function describeCycle(graph: Map<string, string[]>, component: Set<string>): string {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  let closing: string | undefined;
  while (queue.length > 0 && closing === undefined) {
    const node = queue.shift()!;
    for (const target of graph.get(node) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        closing = node;
        break;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  const path = [start];
  for (let node = closing; node !== undefined && node !== start; node = previous.get(node)) path.push(node);
  return [start, ...path.slice(1).reverse(), start].join(' -> ');
}

t.test('runtime sources import each other without cycles', async (t) => {
  const files = SCANNED_DIRS.flatMap(sources);
  t.ok(files.length > 50, `scanned ${files.length} files`);
  const graph = importGraph(files);
  t.ok(
    [...graph.values()].some((targets) => targets.length > 0),
    'the scan finds relative imports',
  );
  const cycles = findCycles(graph);
  t.same(cycles, [], cycles.length === 0 ? 'no import cycle' : `import cycles:\n${cycles.join('\n')}`);
});

t.test('the scanner names a cycle', async (t) => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts', 'd.ts']],
    ['d.ts', []],
    ['e.ts', ['e.ts']],
  ]);
  t.same(findCycles(graph), ['a.ts -> b.ts -> c.ts -> a.ts', 'e.ts -> e.ts']);
});
