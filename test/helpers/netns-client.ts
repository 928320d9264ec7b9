/**
 * A small client the network-namespace tests run *inside* a namespace (nsenter): it prints one JSON line.
 *
 *   node netns-client.js roundtrip URL PROTOCOL_VERSION N   publish N events, wait for N decisions
 *   node netns-client.js probe HOST:PORT...                  try a TCP connect to each address
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { atmEvent } from './gateway-process.js';

/** Bound on a whole round trip, ms. */
const ROUNDTRIP_TIMEOUT_MS = 15_000;
/** Bound on one TCP connect attempt, ms. */
const PROBE_TIMEOUT_MS = 3_000;

async function roundtrip(url: string, protocolVersion: 4 | 5, n: number): Promise<unknown> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion,
    clientId: `netns-client-${process.pid}`,
    reconnectPeriod: 200,
    connectTimeout: 5_000,
  });
  const decisions: Record<string, unknown>[] = [];
  client.on('message', (_topic, payload) => decisions.push(JSON.parse(payload.toString('utf8'))));
  await client.subscribeAsync('atm/+/decision', { qos: 1 });
  for (let i = 0; i < n; i++) {
    await client.publishAsync('atm/NS/tx', JSON.stringify(atmEvent(`netns-${i}`)), { qos: 1 });
  }
  const until = Date.now() + ROUNDTRIP_TIMEOUT_MS;
  while (decisions.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await client.endAsync();
  return { decisions };
}

function probeOne(address: string): Promise<{ address: string; result: string }> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at);
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ address, result });
    };
    const timer = setTimeout(() => done('timeout'), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

async function main(argv: string[]): Promise<unknown> {
  const [mode, ...rest] = argv;
  if (mode === 'roundtrip') return roundtrip(rest[0]!, Number(rest[1]) as 4 | 5, Number(rest[2]));
  if (mode === 'probe') return { probes: await Promise.all(rest.map(probeOne)) };
  throw new Error(`unknown mode ${String(mode)}`);
}

main(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
    process.exit(1);
  },
);
