/**
 * The offline bundle: `bundle` writes the tarball from this checkout, it is unpacked into an empty
 * folder, and inside a network namespace with nothing but a loopback (no registry, no internet) its
 * install.sh installs it and the installed gateway, with its default config (embedded broker on
 * 127.0.0.1:1884, MQTT 3.1.1, the sample models), answers events.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot, startGateway, tempDir } from './helpers/gateway-process.js';
import { inNamespaceOf, interfacesOf, requireNetns } from './helpers/netns.js';

const MIB = 1024 * 1024;
/** The goal for the CPU bundle. */
const MAX_COMPRESSED_BYTES = 150 * 1000 * 1000;
const EVENTS = 5;

t.test('bundle, unpack, install and answer with no network at all', { timeout: 115_000 }, async (t) => {
  if (!requireNetns(t)) return;
  const out = tempDir(t, 'infergate-bundle-');
  const built = spawnSync(
    process.execPath,
    [join(packageRoot, 'dist', 'tools', 'bundle', 'bundle.js'), '--out', out],
    { encoding: 'utf8', timeout: 90_000 },
  );
  t.equal(built.status, 0, `bundle exits 0 (stderr: ${built.stderr})`);
  const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const name = `infergate-${version}-linux-${process.arch}`;
  const tarball = join(out, `${name}.tar.gz`);
  t.ok(existsSync(tarball), `${name}.tar.gz written`);
  const sizes = /([\d.]+) MiB compressed, ([\d.]+) MiB unpacked/.exec(built.stdout);
  t.ok(sizes, `sizes reported: ${built.stdout.trim()}`);
  t.ok(Number(sizes?.[1]) * MIB <= MAX_COMPRESSED_BYTES, `${sizes?.[1]} MiB compressed, within 150 MB`);

  const box = tempDir(t, 'infergate-box-');
  const unpackDir = join(box, 'unpacked');
  mkdirSync(unpackDir);
  t.same(readdirSync(unpackDir), [], 'unpacked into an empty folder');
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', unpackDir], { encoding: 'utf8' });
  t.equal(untar.status, 0, untar.stderr);
  const bundle = join(unpackDir, name);
  const modules = join(bundle, 'node_modules');
  t.ok(
    existsSync(join(modules, 'better-sqlite3/build/Release/better_sqlite3.node')),
    'the built SQLite addon',
  );
  t.same(readdirSync(join(modules, 'onnxruntime-node/bin/napi-v6')), ['linux'], 'onnxruntime: linux only');
  t.same(
    readdirSync(join(modules, 'onnxruntime-node/bin/napi-v6/linux')),
    [process.arch],
    `and ${process.arch} only`,
  );
  t.same(
    readdirSync(join(modules, '@node-llama-cpp')),
    [`linux-${process.arch}`],
    'llama.cpp: the CPU build only',
  );
  t.notOk(existsSync(join(modules, 'typescript')), 'no dev dependencies');
  t.notOk(existsSync(join(bundle, 'dist', 'test')), 'no compiled tests');

  const prefix = join(box, 'opt', 'infergate');
  const gateway = await startGateway(
    t,
    'unused',
    {},
    {
      // Install and run in one namespace: nothing of either may need the network.
      wrap: () => [
        'unshare',
        '-n',
        'sh',
        '-c',
        'ip link set lo up && "$1/install.sh" --prefix "$2" --no-systemd >&2 && exec "$2/bin/infergate" run',
        'sh',
        bundle,
        prefix,
      ],
      readyTimeoutMs: 60_000,
    },
  );
  const pid = gateway.child.pid!;
  t.same(interfacesOf(pid), ['lo'], 'the gateway has only a loopback interface');
  t.match(
    readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'),
    [/node$/, join(prefix, 'dist', 'bin', 'infergate.js'), 'run'],
    'it is the installed copy, with its default config',
  );
  t.ok(existsSync(join(prefix, 'state')), 'its state next to it');

  const result = (await inNamespaceOf(pid, ['roundtrip', 'mqtt://127.0.0.1:1884', '4', String(EVENTS)])) as {
    decisions?: Record<string, unknown>[];
    error?: string;
  };
  t.notOk(result.error, 'the client in the namespace ran');
  t.equal(result.decisions?.length, EVENTS, `${EVENTS} decisions through the embedded broker`);
  t.ok(
    result.decisions?.every((d) => d.source === 'model' && d.reason === 'ok'),
    'each one from the bundled sample model',
  );
  const { probes } = (await inNamespaceOf(pid, ['probe', '1.1.1.1:443'])) as {
    probes: { result: string }[];
  };
  t.equal(probes[0]?.result, 'ENETUNREACH', 'and nothing off the box is reachable from there');
});
