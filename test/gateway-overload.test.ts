import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { slowPipelineConfig } from './helpers/slow-pipeline.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep } from './helpers/gateway-process.js';

t.test(
  'overload: events that cannot be served in time are answered overload at once; each id once',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { inbox, pub } = await startGatewayFixture(t, {
      collect: ['atm/+/decision'],
      // A budget the slow model meets for one event at a time, but not for a burst.
      config: (dir) => slowPipelineConfig(dir, { budgetMs: 2500, maxQueue: 2 }),
    });

    const n = 20;
    const sentAt = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(`burst-${i}`)), { qos: 1 }),
      ),
    );
    await inbox.waitFor(n, 15000);
    await sleep(300);
    const replies = inbox.replies;
    const ids = new Set(replies.map((r) => r.body.id));
    t.equal(ids.size, n, 'every event answered');
    t.equal(replies.length, n, 'exactly once each');
    const overload = replies.filter((r) => r.body.reason === 'overload');
    t.ok(overload.length >= n - 4, `${overload.length} answered overload`);
    t.ok(
      replies.some((r) => r.body.source === 'model'),
      'the ones that fit got a model decision',
    );
    for (const reply of overload) {
      t.equal(reply.body.source, 'fallback');
      // "At once" means far below the 2.5 s budget, with room for a busy shared box.
      t.ok(
        (reply.body.latencyMs as number) < 500,
        `overload answered at once (${String(reply.body.latencyMs)} ms)`,
      );
    }
    t.comment(`burst answered in ${Math.round(performance.now() - sentAt)} ms`);
  },
);
