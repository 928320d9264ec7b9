/**
 * An LLM `generate` pipeline whose model cannot answer within the budget: the fallback goes out at the
 * deadline, and the generation is stopped there instead of running on for nobody.
 */
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import {
  llmModelEntry,
  llmStartup,
  tinyGguf,
  triageEvent,
  triagePipeline,
} from './helpers/llama-fixtures.js';

const sampleEvent = (id: string) =>
  triageEvent(id, { amount: 12345, currency: '12345', hour: 12345, distanceKm: 12345, cardPresent: 12345 });

t.test(
  'generate: a deadline shorter than the model yields the fallback on time; generation is cancelled',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const model = await tinyGguf();
    const budgetMs = 40;
    const { gateway, inbox, pub } = await startGatewayFixture(t, {
      collect: ['tx/+/out'],
      config: {
        models: { llm: llmModelEntry(model.path, { contextSize: 1024 }) },
        pipelines: [triagePipeline({ budgetMs, prompt: { mode: 'generate', maxAnswerTokens: 400 } })],
      },
      spawn: llmStartup,
    });
    // The warm-up's typical event fills every placeholder with 12345; the test sends that event, so the model
    // does exactly what it did at start (greedy decoding): a long answer, far over the budget.
    const loaded = gateway.logs.find((line) => line.msg === 'model loaded')!;
    t.ok(
      (loaded.warmupP50Ms as number) > 3 * budgetMs,
      `the model needs ${String(loaded.warmupP50Ms)} ms for this event, more than the ${budgetMs} ms budget`,
    );
    t.ok(
      gateway.logs.some(
        (line) => line.msg === 'model p95 latency exceeds the pipeline budget: expect fallback decisions',
      ),
      'the start log says the budget cannot be met',
    );
    const readyAt = gateway.logs.length;
    const ids = ['g-1', 'g-2', 'g-3'];
    for (const [i, id] of ids.entries()) {
      await pub.publishAsync(`tx/T${i}/in`, JSON.stringify(sampleEvent(id)), { qos: 1 });
      await inbox.waitFor(i + 1, 10_000);
    }
    const replies = inbox.replies;
    t.equal(replies.length, ids.length);
    for (const reply of replies) {
      t.equal(reply.body.source, 'fallback', `${String(reply.body.id)}: fallback`);
      t.equal(reply.body.reason, 'deadline');
      t.equal(reply.body.decision, 'review');
      const latency = reply.body.latencyMs as number;
      // The same slack as the ONNX deadline test: a shared 2-core box delays timers now and then.
      // Node timers have whole-millisecond granularity and may fire up to ~2 ms early against a float clock.
      t.ok(latency >= budgetMs - 2.5 && latency < budgetMs + 150, `published on time (${latency} ms)`);
    }
    // The scheduler aborts the run at the deadline; generation stops within a token.
    const stoppedLog = 'model run stopped after its batch was answered';
    const cancelled = () => gateway.logs.slice(readyAt).filter((line) => line.msg === stoppedLog);
    await gateway.waitForLog(() => cancelled().length === ids.length, 5_000);
    const decidedAt = replies.map((reply) => Date.parse(reply.body.ts as string));
    cancelled().forEach((line, i) => {
      t.equal((line.err as { code?: string } | undefined)?.code, 'IG_ERR_MODEL_CANCELLED');
      const lag = (line.time as number) - decidedAt[i]!;
      t.ok(lag < 150, `run stopped ${lag} ms after the fallback went out`);
    });
    t.notOk(
      gateway.logs.some(
        (line) => line.msg === 'late model result dropped: the fallback was already published',
      ),
      'no run finished late',
    );
    t.notOk(
      gateway.logs.slice(readyAt).some((line) => line.msg === 'llm run'),
      'no run produced an answer',
    );
  },
);
