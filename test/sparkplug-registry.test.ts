import pino from 'pino';
import t from 'tap';
import sparkplugPayload from 'sparkplug-payload';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import { BirthRegistry } from '../adapters/sparkplug/birth-registry.js';
import { CommandWriter } from '../adapters/sparkplug/command-writer.js';
import { eventFields } from '../adapters/sparkplug/event-fields.js';
import { DataType, decodeArray, decodeSparkplugPayload } from '../adapters/sparkplug/payload.js';
import { seqStep } from '../adapters/sparkplug/seq.js';
import {
  hostSubscriptions,
  parseDataFilter,
  parseSparkplugTopic,
  scopesCross,
} from '../adapters/sparkplug/topic.js';
import { ErrorCodes } from '../daemon/errors.js';
import { systemClock } from '../daemon/ports.js';

const spB = sparkplugPayload.get('spBv1.0')!;

function message(topic: string, payload: UPayload) {
  return { topic: parseSparkplugTopic(topic)!, payload: decodeSparkplugPayload(spB.encodePayload(payload)) };
}

function apply(registry: BirthRegistry, topic: string, payload: UPayload) {
  const m = message(topic, payload);
  return registry.apply(m.topic, m.payload);
}

const NODE = 'spBv1.0/g1/NBIRTH/e1';
const DBIRTH = 'spBv1.0/g1/DBIRTH/e1/d1';
const DDATA = 'spBv1.0/g1/DDATA/e1/d1';

function born(): BirthRegistry {
  const registry = new BirthRegistry();
  apply(registry, NODE, { timestamp: 1, seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }] });
  apply(registry, DBIRTH, {
    timestamp: 2,
    seq: 1,
    metrics: [
      { name: 'Line1/Temperature', alias: 1, type: 'Double', value: 20.5 },
      { name: 'Line1/Running', alias: 2, type: 'Boolean', value: true },
      { name: 'Motor.Speed', alias: 3, type: 'Int16', value: -5 },
      { name: 'Part/Id', alias: 4, type: 'String', value: 'p-0' },
    ],
  });
  return registry;
}

t.test('seq: next, repeat and gap, wrapping at 255', async (t) => {
  t.equal(seqStep(4, 5), 'next');
  t.equal(seqStep(255, 0), 'next', 'wraps');
  t.equal(seqStep(5, 5), 'repeat');
  t.equal(seqStep(5, 7), 'gap');
  t.equal(seqStep(255, 1), 'gap');
});

t.test('DATA by alias resolves through the DBIRTH; unchanged metrics keep their last value', async (t) => {
  const registry = born();
  const observation = apply(registry, DDATA, {
    timestamp: 10,
    seq: 2,
    metrics: [{ alias: 1, type: 'Double', value: 21.25 }],
  });
  t.equal(observation.refusal, null);
  t.equal(observation.rebirth, false);
  const reading = observation.reading!;
  t.equal(reading.values.get('Line1/Temperature'), 21.25);
  t.equal(reading.values.get('Line1/Running'), true, 'from the BIRTH: DATA reports by exception');
  t.equal(reading.values.get('Motor.Speed'), -5, 'Int16 sign restored');
  const fields = eventFields(reading, parseSparkplugTopic(DDATA)!, null);
  t.equal(fields['Line1/Temperature'], 21.25, 'a / is part of the field name');
  t.same({ ...(fields.Motor as object) }, { Speed: -5 }, 'a . nests, as mapping paths read it');
  t.equal(fields.id, 'spb:g1/e1/d1:2:10', 'id from edge node, device, seq and timestamp');
  t.equal(eventFields(reading, parseSparkplugTopic(DDATA)!, 'Part/Id').id, 'p-0', 'id from a metric');
});

t.test('a null or bad-quality metric reads as missing', async (t) => {
  const registry = born();
  const observation = apply(registry, DDATA, {
    timestamp: 10,
    seq: 2,
    metrics: [
      { alias: 1, type: 'Double', value: null },
      { alias: 2, type: 'Boolean', value: false, properties: { Quality: { type: 'Int32', value: 0 } } },
    ],
  });
  const fields = eventFields(observation.reading!, parseSparkplugTopic(DDATA)!, null);
  t.notOk(Object.hasOwn(fields, 'Line1/Temperature'));
  t.notOk(Object.hasOwn(fields, 'Line1/Running'));
});

t.test('DATA before any BIRTH is refused and asks for a rebirth', async (t) => {
  const registry = new BirthRegistry();
  const observation = apply(registry, DDATA, {
    timestamp: 1,
    seq: 5,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(observation.refusal?.code, ErrorCodes.SPARKPLUG_NO_BIRTH);
  t.equal(observation.rebirth, true);
});

t.test('a seq gap marks the node stale until its NBIRTH', async (t) => {
  const registry = born();
  const gap = apply(registry, DDATA, {
    timestamp: 3,
    seq: 4,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(gap.refusal?.code, ErrorCodes.SPARKPLUG_SEQ_GAP);
  t.equal(gap.rebirth, true);
  const after = apply(registry, DDATA, {
    timestamp: 4,
    seq: 5,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(after.refusal?.code, ErrorCodes.SPARKPLUG_SEQ_GAP, 'still refused: no rebirth yet');
  apply(registry, NODE, { timestamp: 5, seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }] });
  const noDevice = apply(registry, DDATA, {
    timestamp: 6,
    seq: 1,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(
    noDevice.refusal?.code,
    ErrorCodes.SPARKPLUG_NO_BIRTH,
    'an NBIRTH forgets the devices until their DBIRTH',
  );
});

t.test('a repeat of the last seq (redelivery) is accepted and marked', async (t) => {
  const registry = born();
  apply(registry, DDATA, { timestamp: 3, seq: 2, metrics: [{ alias: 1, type: 'Double', value: 1 }] });
  const again = apply(registry, DDATA, {
    timestamp: 3,
    seq: 2,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(again.refusal, null);
  t.equal(again.reading?.repeat, true);
});

t.test('an unknown alias refuses the event and the node until it rebirths', async (t) => {
  const registry = born();
  const observation = apply(registry, DDATA, {
    timestamp: 3,
    seq: 2,
    metrics: [{ alias: 99, type: 'Double', value: 1 }],
  });
  t.equal(observation.refusal?.code, ErrorCodes.SPARKPLUG_UNKNOWN_METRIC);
  t.equal(observation.refusal?.field, 'alias 99');
  t.equal(observation.rebirth, true);
  const next = apply(registry, DDATA, {
    timestamp: 4,
    seq: 3,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(next.refusal?.code, ErrorCodes.SPARKPLUG_UNKNOWN_METRIC);
});

t.test('DDEATH refuses the device; NDEATH with another session bdSeq is ignored', async (t) => {
  const registry = born();
  apply(registry, 'spBv1.0/g1/DDEATH/e1/d1', { timestamp: 3, seq: 2 });
  t.notOk(registry.isBorn('g1', 'e1', 'd1'));
  const dead = apply(registry, DDATA, {
    timestamp: 4,
    seq: 3,
    metrics: [{ alias: 1, type: 'Double', value: 1 }],
  });
  t.equal(dead.refusal?.code, ErrorCodes.SPARKPLUG_DEAD);
  t.equal(dead.rebirth, true);
  apply(registry, 'spBv1.0/g1/NDEATH/e1', {
    timestamp: 5,
    metrics: [{ name: 'bdSeq', type: 'UInt64', value: 2 }],
  });
  t.ok(registry.isBorn('g1', 'e1', null), 'a late Will of an earlier session does not end this one');
  apply(registry, 'spBv1.0/g1/NDEATH/e1', {
    timestamp: 6,
    metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }],
  });
  t.notOk(registry.isBorn('g1', 'e1', null));
});

t.test('a value that does not fit its BIRTH datatype is a payload error, without a rebirth', async (t) => {
  const registry = born();
  const observation = apply(registry, DDATA, {
    timestamp: 3,
    seq: 2,
    metrics: [{ alias: 1, type: 'String', value: 'hot' }],
  });
  t.equal(observation.refusal?.code, ErrorCodes.SPARKPLUG_PAYLOAD);
  t.equal(observation.rebirth, false);
});

t.test('peek resolves without moving seq or state', async (t) => {
  const registry = born();
  const m = message(DDATA, { timestamp: 3, seq: 9, metrics: [{ alias: 1, type: 'Double', value: 30 }] });
  t.equal(registry.peek(m.topic, m.payload).reading?.values.get('Line1/Temperature'), 30);
  const next = apply(registry, DDATA, { timestamp: 4, seq: 2, metrics: [] });
  t.equal(next.refusal, null, 'seq 2 is still the next one');
  t.equal(next.reading?.values.get('Line1/Temperature'), 20.5, 'peek changed no value');
});

t.test('registry bounds: the least recently seen edge node is forgotten', async (t) => {
  const registry = new BirthRegistry({ maxEdgeNodes: 2, maxDevicesPerNode: 2, maxMetricsPerBirth: 2 });
  for (const edge of ['a', 'b', 'c']) apply(registry, `spBv1.0/g/NBIRTH/${edge}`, { timestamp: 1, seq: 0 });
  t.equal(registry.size, 2);
  t.notOk(registry.isBorn('g', 'a', null));
  t.ok(registry.isBorn('g', 'c', null));
  const big = apply(registry, 'spBv1.0/g/NBIRTH/d', {
    timestamp: 1,
    seq: 0,
    metrics: [1, 2, 3].map((i) => ({ name: `m${i}`, type: 'Int32', value: i })),
  });
  t.match(big.ignored, /more than 2 metrics/);
});

t.test('Sparkplug 3.0 arrays decode from their packed bytes', async (t) => {
  const doubles = Buffer.alloc(16);
  doubles.writeDoubleLE(1.5, 0);
  doubles.writeDoubleLE(-2, 8);
  t.same(decodeArray(doubles, DataType.DoubleArray), [1.5, -2]);
  t.same(decodeArray(Buffer.from([0xff, 0x01]), DataType.Int8Array), [-1, 1]);
  // The spec's example: [F, F, T, T, F, T, F, F, T, T, F, T]
  t.same(decodeArray(Buffer.from([0x0c, 0, 0, 0, 0x34, 0xd0]), DataType.BooleanArray), [
    false,
    false,
    true,
    true,
    false,
    true,
    false,
    false,
    true,
    true,
    false,
    true,
  ]);
  t.same(decodeArray(Buffer.from('ab\u0000c\u0000'), DataType.StringArray), ['ab', 'c']);
  t.equal(decodeArray(Buffer.from([1, 2, 3]), DataType.Int16Array), null, 'a partial element');
});

t.test('malformed bytes are a payload error', async (t) => {
  t.throws(() => decodeSparkplugPayload(Buffer.from('{"not":"protobuf"}')), {
    code: ErrorCodes.SPARKPLUG_PAYLOAD,
  });
});

t.test('topics and host subscriptions', async (t) => {
  t.same(parseSparkplugTopic('spBv1.0/g/DDATA/e/d'), { group: 'g', type: 'DDATA', edge: 'e', device: 'd' });
  t.equal(parseSparkplugTopic('spBv1.0/g/DDATA/e'), null);
  t.equal(parseSparkplugTopic('spBv1.0/STATE/host'), null);
  t.type(parseDataFilter('spBv1.0/g/DDATA/#'), 'string');
  t.type(parseDataFilter('$share/x/spBv1.0/g/DDATA/e/+'), 'string');
  t.same(parseDataFilter('spBv1.0/+/NDATA/e'), { group: '+', type: 'NDATA', edge: 'e', device: null });
  t.ok(scopesCross({ group: '+', edge: 'e1' }, { group: 'g', edge: '+' }));
  t.notOk(scopesCross({ group: 'g', edge: '+' }, { group: 'g', edge: 'e1' }), 'nested');
  const filters = hostSubscriptions([
    { group: 'g', edge: 'e1' },
    { group: 'g', edge: '+' },
    { group: 'g', edge: '+' },
  ]);
  t.same(
    filters,
    [
      'spBv1.0/g/NBIRTH/+',
      'spBv1.0/g/NDEATH/+',
      'spBv1.0/g/NDATA/+',
      'spBv1.0/g/DBIRTH/+/+',
      'spBv1.0/g/DDEATH/+/+',
      'spBv1.0/g/DDATA/+/+',
    ],
    'a covered scope adds nothing; a repeated one is kept once',
  );
});

t.test('command writer: also, instead, and only to devices with a live BIRTH', async (t) => {
  const sent: { topic: string; metrics: Record<string, unknown> }[] = [];
  const writer = (mode: 'also' | 'instead', born = true) =>
    new CommandWriter({
      config: { mode, decisionMetric: 'D', rejectMetric: 'R', rejectDecision: 'reject', scoreMetric: 'S' },
      publish: async (topic, payload) => {
        const metrics: Record<string, unknown> = {};
        for (const m of spB.decodePayload(payload).metrics ?? []) metrics[m.name!] = m.value;
        sent.push({ topic, metrics });
      },
      isBorn: () => born,
      clock: { ...systemClock, now: () => 1, monotonic: () => 1 },
      logger: pino({ level: 'silent' }),
      maxPending: 2,
    });
  const decision = (id: string, decision: string, score: number | null) =>
    JSON.stringify({ id, pipeline: 'p', decision, score, source: 'model', reason: 'ok' });

  const also = writer('also');
  also.expect('e1', { group: 'g', edge: 'e', device: 'd' });
  t.equal(also.intercept(decision('e1', 'reject', 0.9)), undefined, 'also: the JSON decision goes out too');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(sent.pop(), { topic: 'spBv1.0/g/DCMD/e/d', metrics: { D: 'reject', R: true, S: 0.9 } });
  t.equal(also.intercept(decision('e1', 'reject', 0.9)), undefined, 'one command per event');
  t.equal(sent.length, 0);

  const instead = writer('instead');
  instead.expect('n1', { group: 'g', edge: 'e', device: null });
  const replaced = instead.intercept(decision('n1', 'accept', null));
  t.ok(replaced, 'instead: the command replaces the JSON publish');
  await replaced;
  t.same(
    sent.pop(),
    { topic: 'spBv1.0/g/NCMD/e', metrics: { D: 'accept', R: false } },
    'NCMD for NDATA; no score',
  );
  t.equal(instead.intercept('{"code":"IG_ERR_X","id":"n1"}'), undefined, 'other publishes pass');

  const unborn = writer('instead', false);
  unborn.expect('u1', { group: 'g', edge: 'e', device: 'd' });
  t.equal(
    unborn.intercept(decision('u1', 'accept', 0.1)),
    undefined,
    'no live BIRTH: the JSON decision instead',
  );
  t.equal(sent.length, 0);
});
