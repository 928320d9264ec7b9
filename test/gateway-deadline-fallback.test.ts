import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { slowPipelineConfig } from './helpers/slow-pipeline.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep } from './helpers/gateway-process.js';

t.test(
  'a model slower than the budget: the fallback goes out at the deadline, and nothing after it',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { gateway, inbox, pub } = await startGatewayFixture(t, {
      collect: ['atm/+/decision'],
      config: (dir) => slowPipelineConfig(dir, { budgetMs: 100 }),
    });
    const warning = gateway.logs.find(
      (l) => l.msg === 'model p95 latency exceeds the pipeline budget: expect fallback decisions',
    );
    t.ok(warning, 'the start log warns that the model cannot meet the budget');
    t.comment(`slow model warm-up p95: ${String(warning?.p95Ms)} ms`);

    const ids = ['slow-1', 'slow-2', 'slow-3'];
    const lateLogs = () =>
      gateway.logs.filter((l) => l.msg === 'late model result dropped: the fallback was already published')
        .length;
    for (const id of ids) {
      const sentAt = performance.now();
      await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(id)), { qos: 1 });
      const until = sentAt + 3000;
      while (!inbox.replies.some((r) => r.body.id === id) && performance.now() < until) await sleep(5);
      const reply = inbox.replies.find((r) => r.body.id === id);
      t.match(
        reply?.body,
        { source: 'fallback', reason: 'deadline', decision: 'review', score: null },
        `${id}: fallback`,
      );
      // Generous bound: a shared CI box may delay a timer, but never by a model's whole run time.
      t.ok(
        (reply?.body.latencyMs as number) < 100 + 150,
        `${id}: on time (${String(reply?.body.latencyMs)} ms for a 100 ms budget)`,
      );
      t.ok(
        reply!.at - sentAt < 100 + 250,
        `${id}: arrived ${Math.round(reply!.at - sentAt)} ms after publish`,
      );
      // The model is still busy with this event; the next one must find the lane idle to show a deadline
      // fallback (a busy lane would answer it `overload` at once, also correct but a different path).
      const lateSeen = ids.indexOf(id) + 1;
      const lateUntil = performance.now() + 10000;
      while (lateLogs() < lateSeen && performance.now() < lateUntil) await sleep(20);
    }
    await sleep(500);
    for (const id of ids) {
      t.equal(inbox.replies.filter((r) => r.body.id === id).length, 1, `${id}: exactly one decision`);
    }
    t.ok(
      gateway.logs.some((l) => l.msg === 'late model result dropped: the fallback was already published'),
      'the late model result was logged, not published',
    );
  },
);
