/**
 * adapters/mqtt/endpoint.ts: what the gateway writes while it handles a chunk of inbound data (PUBACKs of a
 * burst) leaves in one write at the end of the event-loop turn, and nothing waits longer than that turn.
 */
import net from 'node:net';
import t from 'tap';
import { createStreamBuilder, parseMqttEndpoint, type MqttEndpoint } from '../adapters/mqtt/endpoint.js';

const WRITES = 20;

t.test('writes made while handling inbound data go out together, within the turn', async (t) => {
  const chunks: Buffer[] = [];
  let peer: net.Socket | undefined;
  const server = net.createServer((socket) => {
    peer = socket;
    socket.on('data', (chunk) => chunks.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const endpoint = parseMqttEndpoint(`mqtt://127.0.0.1:${port}`) as MqttEndpoint;
  const socket = createStreamBuilder(endpoint, {}, true)();
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));

  // Each flush to the kernel is one call of the socket's _write or _writev (a syscall each).
  let flushes = 0;
  const internals = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const method of ['_write', '_writev'] as const) {
    const original = internals[method].bind(socket);
    internals[method] = (...args: unknown[]) => {
      flushes += 1;
      return original(...args);
    };
  }
  socket.on('data', () => {
    // As MQTT.js does: one packet after the other, each corked only until the next tick.
    const writeNext = (i: number): void => {
      if (i === WRITES) return;
      socket.cork();
      socket.write(Buffer.from([0x40, 0x02, 0x00, i]));
      process.nextTick(() => {
        socket.uncork();
        process.nextTick(() => writeNext(i + 1));
      });
    };
    writeNext(0);
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  peer!.write('inbound');

  const until = performance.now() + 2000;
  while (Buffer.concat(chunks).length < WRITES * 4 && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.equal(Buffer.concat(chunks).length, WRITES * 4, 'every write arrived');
  t.equal(flushes, 1, `${WRITES} packets in one write to the kernel`);

  // Writes outside inbound handling are not held at all.
  chunks.length = 0;
  socket.write(Buffer.from([0xd0, 0x00]));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(Buffer.concat(chunks).length, 2, 'a write on its own goes out at once');
  t.equal(flushes, 2, 'in a write of its own');
});
