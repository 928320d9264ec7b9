/**
 * An LLM `classify` pipeline through the real daemon: `infergate run` against a private Mosquitto, with the
 * tiny GGUF model (random weights, R1 tokenizer and chat template) loaded by node-llama-cpp on the CPU.
 */
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { sleep } from './helpers/gateway-process.js';
import {
  TRIAGE_LABELS,
  llmModelEntry,
  llmStartup,
  tinyGguf,
  triageEvent,
  triagePipeline,
} from './helpers/llama-fixtures.js';

t.test('classify: a label distribution per event, the system prefix evaluated once', async (t) => {
  if (!requireMosquitto(t)) return;
  const model = await tinyGguf();
  const { gateway, inbox, pub } = await startGatewayFixture(t, {
    collect: ['tx/+/out'],
    config: {
      models: { llm: { ...llmModelEntry(model.path), sha256: model.sha256 } },
      pipelines: [triagePipeline({ prompt: { maxPromptTokens: 80 } })],
    },
    spawn: llmStartup,
  });
  const loaded = gateway.logs.find((line) => line.msg === 'model loaded')!;
  t.equal(loaded.chatTemplate, 'DeepSeek', 'the R1 chat template is recognised');
  t.equal(loaded.thinking, 'disabled', 'R1 thinking is disabled by a prefilled empty thought');
  const prefixTokens = loaded.prefixTokens as number;
  t.equal(loaded.primedTokens, prefixTokens * 2, 'the prefix was evaluated once per sequence (2), at load');
  const readyAt = gateway.logs.length;

  const events = 8;
  for (let i = 0; i < events; i += 1) {
    const event = triageEvent(`tx-${i}`, { amount: 10 + i * 137.25, hour: i * 3, cardPresent: i % 2 === 0 });
    await pub.publishAsync(`tx/T${i}/in`, JSON.stringify(event), { qos: 1 });
  }
  const tooLong = triageEvent('tx-long', { currency: 'X'.repeat(200) });
  await pub.publishAsync('tx/T9/in', JSON.stringify(tooLong), { qos: 1 });

  const replies = await inbox.waitFor(events + 1, 20_000);
  t.equal(replies.length, events + 1, 'every event answered');
  for (const reply of replies.filter((r) => r.body.id !== 'tx-long')) {
    const body = reply.body;
    t.equal(body.source, 'model', `${String(body.id)}: answered by the model`);
    t.equal(body.reason, 'ok');
    const scores = body.scores as Record<string, number>;
    t.same(Object.keys(scores), TRIAGE_LABELS, 'one probability per label, in label order');
    const sum = Object.values(scores).reduce((a, b) => a + b, 0);
    t.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to 1 (${sum})`);
    const top = TRIAGE_LABELS.reduce((a, b) => (scores[b]! > scores[a]! ? b : a));
    t.equal(body.decision, top, 'the decision is the most probable label (decide omitted: argmax)');
    t.equal(body.score, scores[top]);
    t.match(body.model, { name: 'llm', sha256: model.sha256.slice(0, 12) });
  }
  const long = replies.find((r) => r.body.id === 'tx-long')?.body;
  t.equal(long?.reason, 'invalid_input', 'a prompt over maxPromptTokens is refused at intake');
  t.match(long?.error, { code: 'IG_ERR_INPUT_PROMPT_TOO_LONG' });

  const runLogs = () => gateway.logs.slice(readyAt).filter((line) => line.msg === 'llm run');
  // Log lines may trail the decisions they belong to by a moment.
  for (let waited = 0; runLogs().length < events && waited < 2000; waited += 20) await sleep(20);
  const runs = runLogs();
  t.equal(runs.length, events, 'one model run per valid event');
  for (const run of runs) {
    t.ok((run.reusedTokens as number) >= prefixTokens, 'the cached system prefix was reused');
    t.ok(
      (run.newTokens as number) < 80,
      `only the event's own tokens were evaluated (${String(run.newTokens)})`,
    );
  }

  gateway.kill('SIGTERM');
  const exit = await gateway.exited;
  t.equal(exit.code, 0, 'stops cleanly: the context, model and runtime are disposed');
  t.ok(gateway.logs.some((line) => line.msg === 'stopped'));
});
