/**
 * The inbound dispatcher without a broker: a handler that returns synchronously is answered at once, the
 * others through the chain, and either way messages are handled one at a time, in order, each answered
 * only after its handler settled and its records are durable (or refused, with a session resume).
 */
import t from 'tap';
import type { IPublishPacket } from 'mqtt';
import { InboundDispatcher, type PacketDone } from '../adapters/mqtt/inbound-dispatcher.js';
import { ReconnectBackoff } from '../adapters/mqtt/reconnect-backoff.js';
import type { InboundMessage, MessageHandler } from '../daemon/ports.js';
import { delay, memoryLogger, waitFor } from './helpers/mqtt-fixtures.js';

function packet(payload: string, qos: 0 | 1 = 1, dup = false): IPublishPacket {
  return {
    cmd: 'publish',
    topic: 'in/event',
    payload: Buffer.from(payload),
    qos,
    dup,
    retain: false,
    messageId: 1,
  };
}

interface Harness {
  dispatcher: InboundDispatcher;
  /** What happened, in order: `handle:x`, `durable`, `ack:x`, `nack:x`. */
  log: string[];
  done(name: string): PacketDone;
  resumes: number;
  held: boolean;
  durableFails: boolean;
  backlog: Promise<void> | undefined;
  backlogAsks: number;
  heldAcks: number;
}

function harness(handler: (message: InboundMessage, log: string[]) => void | Promise<void>): Harness {
  const log: string[] = [];
  const h: Harness = {
    dispatcher: undefined as unknown as InboundDispatcher,
    log,
    done: (name) => (error) => log.push(`${error === undefined ? 'ack' : 'nack'}:${name}`),
    resumes: 0,
    held: false,
    durableFails: false,
    backlog: undefined,
    backlogAsks: 0,
    heldAcks: 0,
  };
  const onMessage: MessageHandler = (message) => handler(message, log);
  h.dispatcher = new InboundDispatcher({
    logger: memoryLogger().logger,
    handler: onMessage,
    backoff: new ReconnectBackoff({ minMs: 1, maxMs: 1 }),
    resumeSession: () => {
      h.resumes += 1;
      return true;
    },
    acksHeld: () => h.held,
    acknowledgedHeld: () => {
      h.heldAcks += 1;
    },
    makeDurable: () => {
      log.push('durable');
      if (h.durableFails) throw new Error('commit failed');
    },
    whenBrokerReads: () => {
      h.backlogAsks += 1;
      return h.backlog;
    },
  });
  return h;
}

const name = (message: InboundMessage) => message.payload.toString();

t.test(
  'a synchronous handler is answered before dispatch returns, after its records are durable',
  async (t) => {
    const h = harness((message, log) => void log.push(`handle:${name(message)}`));
    h.dispatcher.dispatch(packet('a'), h.done('a'), () => true);
    t.same(h.log, ['handle:a', 'durable', 'ack:a']);
    h.held = true;
    h.dispatcher.dispatch(packet('b'), h.done('b'), () => true);
    t.same(h.log.slice(3), ['handle:b', 'ack:b'], 'in a held turn the release makes it durable');
    h.held = false;
    h.dispatcher.dispatch(packet('c'), h.done('c'), () => false);
    t.same(h.log.slice(5), ['handle:c', 'durable', 'nack:c'], 'no PUBACK on a replaced connection');
    t.equal(h.backlogAsks, 3, 'the backlog is asked once per message');
  },
);

t.test('a synchronous failure or a failed barrier: no PUBACK, then a session resume', async (t) => {
  const h = harness((message, log) => {
    log.push(`handle:${name(message)}`);
    if (name(message) === 'bad') throw new Error('inbox write failed');
  });
  h.dispatcher.dispatch(packet('bad'), h.done('bad'), () => true);
  t.same(h.log, ['handle:bad', 'nack:bad']);
  h.durableFails = true;
  h.dispatcher.dispatch(packet('x'), h.done('x'), () => true);
  t.same(h.log.slice(2), ['handle:x', 'durable', 'nack:x']);
  h.durableFails = false;
  h.dispatcher.dispatch(packet('y'), h.done('y'), () => true);
  t.same(h.log.slice(5), ['handle:y', 'durable', 'ack:y'], 'the next one goes through');
  await waitFor(() => h.resumes === 1, 'a session resume after the quiet period');
  h.dispatcher.close();
});

t.test(
  'an asynchronous handler holds the messages behind it, synchronous ones included, in order',
  async (t) => {
    const h = harness((message, log) => {
      log.push(`handle:${name(message)}`);
      if (name(message).startsWith('slow')) {
        return delay(20).then(() => {
          log.push(`settled:${name(message)}`);
          if (name(message) === 'slow-bad') throw new Error('failed late');
        });
      }
    });
    h.held = true;
    for (const payload of ['slow1', 'a', 'slow-bad', 'b', 'slow2']) {
      h.dispatcher.dispatch(packet(payload), h.done(payload), () => true);
    }
    t.same(h.log, ['handle:slow1'], 'nothing else runs while the first is in hand');
    await waitFor(() => h.log.includes('ack:slow2'), 'every message answered');
    t.same(h.log, [
      'handle:slow1',
      'settled:slow1',
      'ack:slow1',
      'handle:a',
      'ack:a',
      'handle:slow-bad',
      'settled:slow-bad',
      'nack:slow-bad',
      'handle:b',
      'ack:b',
      'handle:slow2',
      'settled:slow2',
      'ack:slow2',
    ]);
    h.log.length = 0;
    h.held = false;
    h.dispatcher.dispatch(packet('c'), h.done('c'), () => true);
    t.same(h.log, ['handle:c', 'durable', 'ack:c'], 'synchronous again once nothing is in hand');
    h.dispatcher.close();
  },
);

t.test('while the broker is not reading, the message waits for it (asked once)', async (t) => {
  const h = harness((message, log) => void log.push(`handle:${name(message)}`));
  let drained!: () => void;
  h.backlog = new Promise((resolve) => (drained = resolve));
  h.dispatcher.dispatch(packet('a'), h.done('a'), () => true);
  h.backlog = undefined;
  h.dispatcher.dispatch(packet('b'), h.done('b'), () => true);
  await delay(10);
  t.same(h.log, [], 'held until the backlog drained');
  t.equal(h.backlogAsks, 1, 'the second waits behind the first before it asks');
  drained();
  await waitFor(() => h.log.includes('ack:b'), 'both answered');
  t.same(h.log, ['handle:a', 'durable', 'ack:a', 'handle:b', 'durable', 'ack:b']);
  t.equal(h.backlogAsks, 2);
});

t.test('a QoS 0 failure schedules no resume; a duplicate is acknowledged like any other', async (t) => {
  const h = harness((message) => {
    if (name(message) === 'bad') throw new Error('failed');
  });
  h.dispatcher.dispatch(packet('bad', 0), h.done('bad'), () => true);
  h.dispatcher.dispatch(packet('again', 1, true), h.done('again'), () => true);
  t.same(h.log, ['nack:bad', 'durable', 'ack:again']);
  await delay(250);
  t.equal(h.resumes, 0, 'no resume for a QoS 0 message');
  h.dispatcher.close();
});
