/**
 * What a gateway does not need stays out of its memory: sharp (libvips), the embedded broker (aedes) and
 * Sparkplug's protobuf code load only when the config uses them. Each was resident on every gateway
 * before, ~10 MiB of RSS at ready together (bench/README.md, "RSS at ready").
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { packageRoot } from './helpers/gateway-process.js';
import { requireMosquitto } from './helpers/mosquitto.js';

const OPTIONAL = ['sharp', 'aedes', 'sparkplug-payload'];

t.test('importing the daemon and the config loader loads none of them', async (t) => {
  // A fresh process: this one may have loaded them through other imports.
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(join(packageRoot, 'dist', 'bin', 'run-gateway.js'))});
    await import(${JSON.stringify(join(packageRoot, 'dist', 'config', 'load-config.js'))});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const names = cache.map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1]).filter(Boolean);
    console.log(JSON.stringify([...new Set(names)]));
  `;
  const loaded = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as string[];
  for (const name of OPTIONAL) t.notOk(loaded.includes(name), `${name} not loaded`);
});

t.test('a running ONNX gateway on an external broker has not mapped libvips', async (t) => {
  if (!requireMosquitto(t)) return;
  if (process.platform !== 'linux') return;
  const { gateway } = await startGatewayFixture(t, { collect: ['infergate/gw-test/status'] });
  const maps = readFileSync(`/proc/${gateway.child.pid}/maps`, 'utf8');
  t.notMatch(maps, /libvips/, 'sharp was not loaded');
  t.match(maps, /better_sqlite3/, 'the maps are the gateway process');
});
