import { Duplex } from 'node:stream';
import t from 'tap';
import { MAX_HELD_ACKS, WriteWindow } from '../adapters/mqtt/write-window.js';

/** A socket stand-in that records what leaves it and when. */
function socketAndWindow() {
  const written: string[] = [];
  const log: string[] = [];
  // Reads only what the test emits as 'data'; writes are recorded.
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString());
      log.push(`write:${chunk.toString()}`);
      callback();
    },
  });
  const window = new WriteWindow(socket, () => log.push('durable'));
  window.watch();
  return { socket, window, written, log };
}

t.test('a held turn lets its writes go after the barrier, at the end of the turn', async (t) => {
  const { socket, window, log } = socketAndWindow();
  socket.emit('data', Buffer.from('in'));
  t.ok(window.held);
  socket.write('ack-1');
  window.acknowledged();
  t.same(log, [], 'nothing leaves inside the turn');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(log, ['durable', 'write:ack-1']);
  t.notOk(window.held);
});

t.test(`every ${MAX_HELD_ACKS} acknowledgements of one turn leave early, after the barrier`, async (t) => {
  const { socket, window, log } = socketAndWindow();
  socket.emit('data', Buffer.from('burst'));
  for (let i = 1; i <= MAX_HELD_ACKS * 2 + 3; i += 1) {
    socket.write(`a${i}`);
    window.acknowledged();
  }
  await new Promise((resolve) => process.nextTick(resolve));
  const durableAt = log.flatMap((entry, i) => (entry === 'durable' ? [i] : []));
  t.equal(durableAt.length, 2, 'two early releases inside the turn');
  t.equal(log[durableAt[0]! + 1], 'write:a1', 'the first chunk leaves right after its barrier');
  t.ok(window.held, 'the rest of the turn is held again');
  t.notOk(log.includes(`write:a${MAX_HELD_ACKS * 2 + 1}`), 'the last ones wait for the turn end');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(log.at(-1), `write:a${MAX_HELD_ACKS * 2 + 3}`, 'the turn end lets the remainder go');
  t.equal(log.filter((entry) => entry === 'durable').length, 3);
});

t.test('acknowledgements outside a held turn do nothing', (t) => {
  const { window, log } = socketAndWindow();
  for (let i = 0; i < MAX_HELD_ACKS * 2; i += 1) window.acknowledged();
  t.same(log, []);
  t.end();
});
