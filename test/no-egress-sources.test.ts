/**
 * "No component makes any other outbound connection", kept true as the code changes: every runtime
 * source file that can open a network connection is listed here with what it connects to or serves.
 * A new one fails this test until someone decides it belongs on the list. (The network-namespace tests
 * show the same from the outside: the daemon works with no network at all.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from './helpers/gateway-process.js';

/** Runtime code; tools/, bench/ and test/ are not part of the daemon. */
const RUNTIME_DIRS = ['adapters', 'bin', 'config', 'daemon'];

const ALLOWED: Record<string, string> = {
  'adapters/mqtt/endpoint.ts':
    'the one outbound connection: to the configured broker (checked by the no-egress guard)',
  'adapters/mqtt/connection.ts': 'MQTT.js over the socket endpoint.ts opens',
  'adapters/mqtt/client-options.ts': 'MQTT.js options and stores for that connection; opens nothing',
  'adapters/mqtt/subscriptions.ts': 'SUBSCRIBE/UNSUBSCRIBE on the client connection.ts opened',
  'adapters/mqtt/publishing.ts': 'PUBLISH on the client connection.ts opened',
  'adapters/mqtt/shutdown.ts': 'DISCONNECT of the client connection.ts opened',
  'adapters/mqtt/transport-context.ts': 'MQTT.js client type only',
  'adapters/mqtt/inbound-dispatcher.ts': 'MQTT.js packet types only',
  'adapters/sparkplug/host-state.ts':
    'MQTT.js over the socket endpoint.ts opens: the Sparkplug STATE session, to the same broker',
  'adapters/mqtt/embedded-broker.ts': 'listens (aedes) on broker.embedded.host; no outbound connection',
  'adapters/ops/metrics-server.ts':
    'listens on metrics.host or the socket systemd passed; no outbound connection',
  'adapters/ops/systemd-notifier.ts': 'datagrams to $NOTIFY_SOCKET, a Unix socket on this box',
  'adapters/ops/status-page.ts':
    "the page's own script fetches status.json from the listener that served it (CSP connect-src 'self')",
  'bin/status-command.ts':
    'GET /status.json from the metrics listener the config names, or a --url held to the no-egress guard',
  'config/host-scope.ts': 'net.isIP and BlockList only: address arithmetic, no I/O',
};

const NETWORK = [
  /from 'node:(net|tls|http|https|http2|dgram|dns)'/,
  /from '(net|tls|http|https|http2|dgram|dns)'/,
  /from 'node:dns\/promises'/,
  /from 'mqtt'/,
  /from 'node-unix-socket'/,
  /import\('node-unix-socket'\)/,
  /\bfetch\(/,
  /\bnew WebSocket\(/,
  /from '(undici|axios|node-fetch|got|ws)'/,
];

function sources(dir: string): string[] {
  return readdirSync(join(packageRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

t.test('only the listed runtime files can open network connections', async (t) => {
  const found = RUNTIME_DIRS.flatMap(sources).filter((file) => {
    const text = readFileSync(join(packageRoot, file), 'utf8');
    return NETWORK.some((pattern) => pattern.test(text));
  });
  for (const file of found) t.ok(Object.hasOwn(ALLOWED, file), `${file} may use the network`);
  t.ok(found.includes('adapters/mqtt/endpoint.ts'), 'the broker connection is found by the scan');
});

t.test('the LLM runtime never downloads or builds', async (t) => {
  for (const file of RUNTIME_DIRS.flatMap(sources)) {
    const text = readFileSync(join(packageRoot, file), 'utf8');
    if (!/\bgetLlama\(/.test(text)) continue;
    t.match(text, /build: 'never'/, `${file}: getLlama({ build: 'never' })`);
  }
});
