import { join } from 'node:path';
import t from 'tap';
import { writeSlowModel } from './helpers/test-models.js';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, atmPipeline } from './helpers/gateway-process.js';

t.test(
  'an event older than maxEventAgeMs by its own timestamp is answered expired, not inferred',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { inbox, pub } = await startGatewayFixture(t, {
      collect: ['atm/+/decision'],
      config: { pipelines: [atmPipeline({ timestampField: 'ts', maxEventAgeMs: 60_000 })] },
    });

    const now = Date.now();
    await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent('old', { ts: now - 10 * 60_000 })), {
      qos: 1,
    });
    await pub.publishAsync(
      'atm/T1/tx',
      JSON.stringify(atmEvent('fresh', { ts: new Date(now).toISOString() })),
      { qos: 1 },
    );
    await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent('bad-ts', { ts: 'yesterday' })), { qos: 1 });
    const replies = await inbox.waitFor(3);
    const by = (id: string) => replies.find((r) => r.body.id === id)?.body;
    t.match(by('old'), { source: 'fallback', reason: 'expired', decision: 'review' });
    t.match(by('fresh'), { source: 'model', reason: 'ok' });
    t.match(by('bad-ts'), {
      reason: 'invalid_input',
      error: { code: 'IG_ERR_INPUT_FIELD_INVALID', field: 'ts' },
    });
  },
);

t.test(
  'MQTT 5 Message Expiry shortens the deadline: no answer is worth more than the request lives',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { inbox, pub } = await startGatewayFixture(t, {
      collect: ['atm/+/decision'],
      config: async (dir) => {
        const model = join(dir, 'slow.onnx');
        // About 1.5 s per run on a quiet 2-core box: longer than the 1 s the request lives.
        await writeSlowModel(model, { inputs: 13, outputs: 1, chainLength: 4000 });
        return {
          models: { slow: { runtime: 'onnx', path: model, threads: 1 } },
          pipelines: [atmPipeline({ model: 'slow', budgetMs: 20_000, maxEventAgeMs: 60_000 })],
        };
      },
      // Warming up a model this slow takes a few runs.
      spawn: { readyTimeoutMs: 90_000 },
    });
    const sentAt = performance.now();
    await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent('short-lived')), {
      qos: 1,
      properties: { messageExpiryInterval: 1 },
    });
    const [reply] = await inbox.waitFor(1, 10_000);
    // Either shed at once (the model's known run time cannot fit the second the request lives: overload) or
    // cut off when it expires (deadline); never a model answer 1.5 s late, never the 20 s budget.
    t.match(reply?.body, { id: 'short-lived', source: 'fallback', reason: /^(overload|deadline)$/ });
    const waited = reply!.at - sentAt;
    t.ok(
      waited < 5_000,
      `answered when the request expired (${Math.round(waited)} ms), not at the 20 s budget`,
    );
  },
);
