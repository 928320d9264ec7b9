/**
 * adapters/mqtt/outbound-backlog.ts: the next inbound event waits while the broker connection holds more than
 * MAX_UNSENT_BYTES unsent, until it drains or for BACKLOG_WAIT_MS at most, and is logged once.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { BACKLOG_WAIT_MS, MAX_UNSENT_BYTES, OutboundBacklog } from '../adapters/mqtt/outbound-backlog.js';
import { memoryLogger } from './helpers/mqtt-fixtures.js';

/** A connection whose peer reads only when told to. */
function slowConnection(): { stream: Writable; read: () => void } {
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(_chunk, _encoding, callback) {
      pending.push(callback);
    },
  });
  return { stream, read: () => pending.splice(0).forEach((callback) => callback()) };
}

t.test('no wait while the broker reads; a wait that ends when the backlog drains', async (t) => {
  const log = memoryLogger();
  const backlog = new OutboundBacklog(log.logger);
  const { stream, read } = slowConnection();
  t.equal(backlog.wait(stream), undefined, 'an empty connection: no wait, no promise');
  stream.write(Buffer.alloc(MAX_UNSENT_BYTES));
  t.equal(backlog.wait(stream), undefined, 'up to the limit: no wait');

  stream.write(Buffer.alloc(1));
  const started = performance.now();
  const waiting = backlog.wait(stream);
  t.ok(waiting !== undefined, 'past the limit: the next event waits');
  // The first write's callback frees the second; the stream drains when both are done.
  setImmediate(() => {
    read();
    setImmediate(read);
  });
  await waiting;
  const waited = performance.now() - started;
  t.ok(waited < BACKLOG_WAIT_MS, `released by the drain after ${waited.toFixed(1)} ms`);
  t.equal(backlog.held, 1);
  t.equal(log.find('broker is not reading our publishes').length, 1, 'logged');
});

t.test('a backlog that does not drain holds an event for BACKLOG_WAIT_MS at most', async (t) => {
  const log = memoryLogger();
  const backlog = new OutboundBacklog(log.logger);
  const { stream } = slowConnection();
  stream.write(Buffer.alloc(MAX_UNSENT_BYTES + 1));
  for (let i = 0; i < 2; i++) {
    const started = performance.now();
    await backlog.wait(stream);
    const waited = performance.now() - started;
    t.ok(waited >= BACKLOG_WAIT_MS - 1, `held ${waited.toFixed(1)} ms`);
  }
  t.equal(backlog.held, 2);
  t.equal(log.find('broker is not reading our publishes').length, 1, 'logged once a minute at most');
  t.equal(stream.listenerCount('drain'), 0, 'no listener left behind');
});
