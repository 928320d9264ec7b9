/**
 * The metrics endpoint on its own: the three paths, and its bounds — GET/HEAD only, no request bodies,
 * small headers, a typed error when it cannot listen, an idempotent stop.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { createMetricsRegistry } from '../adapters/ops/metrics-registry.js';
import { createMetricsServer, type MetricsServer } from '../adapters/ops/metrics-server.js';
import { packageRoot } from './helpers/gateway-process.js';
import { memoryLogger } from './helpers/mqtt-fixtures.js';

function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('end', () => resolve(response));
    socket.on('close', () => resolve(response));
    socket.on('error', reject);
    socket.write(request);
  });
}

t.test('paths, methods and bounds', async (t) => {
  let readiness: string | null = 'starting (models loading, broker connecting)';
  const registry = createMetricsRegistry({
    pipelines: ['p'],
    models: ['m'],
    version: 'test',
    sources: {
      queues: () => new Map([['m', { queued: 2, inflight: 1 }]]),
      mqttConnected: () => true,
      mqttIntakeHolds: () => 0,
      ready: () => true,
    },
  });
  const server = createMetricsServer({
    logger: memoryLogger().logger,
    config: { enabled: true, host: '127.0.0.1', port: 0, statusIntervalSec: 0 },
    exposition: registry,
    readiness: () => readiness,
    listenFd: null,
  });
  const { port } = await server.start();
  t.teardown(() => server.stop());
  const base = `http://127.0.0.1:${port}`;

  const metrics = await fetch(`${base}/metrics`);
  t.equal(metrics.status, 200);
  t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await metrics.text();
  t.match(text, /infergate_queue_depth\{model="m"\} 2/);
  t.match(text, /infergate_inflight_runs\{model="m"\} 1/);
  t.match(text, /infergate_events_received_total\{pipeline="p"\} 0/, 'series exist before the first event');
  t.match(text, /infergate_decision_latency_seconds_count\{pipeline="p"\} 0/);

  t.equal((await fetch(`${base}/healthz`)).status, 200);
  const notReady = await fetch(`${base}/readyz`);
  t.equal(notReady.status, 503);
  t.equal(await notReady.text(), 'not ready: starting (models loading, broker connecting)\n');
  readiness = null;
  t.equal((await fetch(`${base}/readyz`)).status, 200);
  t.equal((await fetch(`${base}/nope`)).status, 404);

  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '', 'HEAD has no body');
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  const withBody = await rawRequest(
    port,
    'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
  );
  t.match(withBody, /^HTTP\/1\.1 413 /, 'a GET with a body is refused');
  const chunked = await rawRequest(
    port,
    'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  );
  t.match(chunked, /^HTTP\/1\.1 413 /, 'a chunked body is refused');
  const huge = await rawRequest(
    port,
    `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
  );
  t.match(huge, /^HTTP\/1\.1 431 /, 'oversized headers are refused');

  await server.stop();
  await server.stop();
  await t.rejects(fetch(`${base}/healthz`), 'closed after stop');
});

t.test('cannot listen: IG_ERR_METRICS_LISTEN, retryable only when retrying can help', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  const make = (host: string, p: number): MetricsServer =>
    createMetricsServer({
      logger: memoryLogger().logger,
      config: { enabled: true, host, port: p, statusIntervalSec: 0 },
      exposition: { metrics: async () => '', contentType: 'text/plain' },
      readiness: () => null,
      listenFd: null,
    });
  await t.rejects(make('127.0.0.1', port).start(), {
    code: 'IG_ERR_METRICS_LISTEN',
    retryable: true,
    message: new RegExp(`127\\.0\\.0\\.1:${port}: EADDRINUSE`),
  });
  // TEST-NET-1: an address no interface of this box has.
  await t.rejects(make('192.0.2.1', 0).start(), { code: 'IG_ERR_METRICS_LISTEN', retryable: false });
});

t.test('docs/metrics.md documents every metric; the Grafana dashboard uses only real ones', async (t) => {
  const registry = createMetricsRegistry({
    pipelines: ['p'],
    models: ['m'],
    version: 'test',
    sources: {
      queues: () => new Map(),
      mqttConnected: () => false,
      mqttIntakeHolds: () => 0,
      ready: () => false,
    },
  });
  const exposed = new Set(
    [...(await registry.metrics()).matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!),
  );
  t.ok(exposed.size >= 19, `${exposed.size} metrics`);
  const docs = readFileSync(join(packageRoot, 'docs', 'metrics.md'), 'utf8');
  for (const name of exposed) t.ok(docs.includes(`\`${name}\``), `${name} is documented`);
  const dashboard = readFileSync(join(packageRoot, 'docs', 'grafana-dashboard.json'), 'utf8');
  JSON.parse(dashboard);
  const used = new Set(
    [...dashboard.matchAll(/infergate_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')),
  );
  for (const name of used) t.ok(exposed.has(name), `dashboard: ${name} exists`);
});
