/**
 * Config for LLM pipelines (no model needed): `runtime: llama` models with their `llama` settings, and
 * pipelines with a `prompt` instead of an `input` mapping.
 */
import { join } from 'node:path';
import t from 'tap';
import { configFromObject, loadConfig } from '../config/load-config.js';
import { reasonMaxChars } from '../config/prompt-config.js';
import { configPipeline } from './helpers/config-document.js';
import { configProblems, type ConfigProblem } from './helpers/config-problems.js';
import { packageRoot } from './helpers/gateway-process.js';

const noEnv = {};

const prompt = (overrides: Record<string, unknown> = {}) => ({
  system: 'You triage card transactions.',
  template: 'Amount {amount} {currency}.',
  labels: ['accept', 'review', 'decline'],
  ...overrides,
});

function llmPipeline(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'triage',
    subscribe: 'tx/+/in',
    publish: 'tx/{1}/out',
    model: 'llm',
    budgetMs: 300,
    fallback: 'review',
    prompt: prompt(),
    ...overrides,
  };
}

const onnxPipeline = (overrides: Record<string, unknown> = {}) =>
  configPipeline({ model: 'onnx', ...overrides });

function document(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    gateway: { id: 'gw-1' },
    models: {
      llm: { runtime: 'llama', path: '/models/r1.gguf' },
      onnx: { runtime: 'onnx', path: '/models/m.onnx' },
    },
    pipelines: [llmPipeline(), onnxPipeline()],
    ...overrides,
  };
}

function problemsOf(doc: Record<string, unknown>): ConfigProblem[] {
  return configProblems(() => configFromObject(doc, { env: noEnv }));
}

t.test('defaults: a llama model and a prompt pipeline', async (t) => {
  const config = configFromObject(document(), { env: noEnv });
  const model = config.models.llm!;
  t.equal(model.runtime, 'llama');
  t.same(model.llama, { device: 'cpu', contextSize: 2048, batchSize: 128, gpuLayers: 0, sequences: 2 });
  t.equal(model.threads, 1, 'the shared default: set threads per model');
  t.equal(model.maxBatch, 1, 'one prompt per sequence per run');
  t.equal(config.models.onnx!.llama, null);
  const pipeline = config.pipelines[0]!;
  t.equal(pipeline.input, null);
  t.same(pipeline.prompt, {
    mode: 'classify',
    ...prompt(),
    maxPromptTokens: 96,
    maxAnswerTokens: 64,
    thoughtTokens: 0,
  });
  t.same(
    pipeline.decide,
    { kind: 'argmax', labels: null, decisions: {}, minConfidence: 0, lowConfidence: 'review' },
    'decide left out: argmax over prompt.labels, each label decides as itself',
  );
  t.equal(config.pipelines[1]!.prompt, null);

  const gpu = configFromObject(
    document({
      models: { llm: { runtime: 'llama', path: '/r1.gguf', threads: 2, llama: { device: 'cuda' } } },
      pipelines: [llmPipeline()],
    }),
    { env: noEnv },
  );
  t.equal(gpu.models.llm!.llama!.gpuLayers, 'max', 'every layer on the GPU unless the config says otherwise');
  t.equal(gpu.models.llm!.threads, 2);
});

t.test('model problems: llama settings, ONNX-only keys, one device per process', async (t) => {
  const problems = problemsOf(
    document({
      models: {
        llm: {
          runtime: 'llama',
          path: '/a.gguf',
          workers: 2,
          llama: {
            device: 'tpu',
            contextSize: 100,
            batchSize: 9000,
            gpuLayers: 'all',
            sequences: 0,
            extra: 1,
          },
        },
        gpu: { runtime: 'llama', path: '/b.gguf', llama: { device: 'cuda' } },
        other: { runtime: 'llama', path: '/c.gguf', llama: { device: 'vulkan' } },
        onnx: { runtime: 'onnx', path: '/m.onnx', llama: { device: 'cpu' } },
      },
      pipelines: [],
    }),
  );
  const expected: [string, RegExp][] = [
    ['models.llm.workers', /not used by runtime llama/],
    ['models.llm.llama.device', /must be one of: cpu, cuda, vulkan, auto/],
    ['models.llm.llama.contextSize', /between 256 and 131072/],
    ['models.llm.llama.batchSize', /between 16 and 8192/],
    ['models.llm.llama.gpuLayers', /or max/],
    ['models.llm.llama.sequences', /between 1 and 16/],
    ['models.llm.llama.extra', /unknown key/],
    ['models.other.llama.device', /must match models.gpu.llama.device \(cuda\)/],
    ['models.onnx.llama', /runtime llama only/],
  ];
  for (const [path, message] of expected) {
    t.ok(
      problems.some((p) => p.path === path && message.test(p.message)),
      `${path}: ${message} (got ${JSON.stringify(problems.filter((p) => p.path === path))})`,
    );
  }
  const batch = problemsOf(
    document({
      models: { llm: { runtime: 'llama', path: '/a.gguf', llama: { contextSize: 512, batchSize: 1024 } } },
    }),
  );
  t.ok(batch.some((p) => p.path === 'models.llm.llama.batchSize' && /contextSize \(512\)/.test(p.message)));
});

t.test('pipeline problems: input or prompt by runtime, prompt keys, rules against labels', async (t) => {
  const cases: [Record<string, unknown>[], [string, RegExp][]][] = [
    [
      [llmPipeline({ prompt: undefined, input: { fields: ['a'] } })],
      [
        ['pipelines[0].input', /model llm is an LLM: use prompt/],
        ['pipelines[0].prompt', /is required: model llm is an LLM/],
      ],
    ],
    [[onnxPipeline({ prompt: prompt() })], [['pipelines[0].prompt', /model onnx is onnx: use input/]]],
    [
      [llmPipeline({ model: 'missing', input: { fields: ['a'] } })],
      [['pipelines[0]', /exactly one of input \(onnx models\) and prompt \(llama models\)/]],
    ],
    [
      [
        llmPipeline({
          prompt: prompt({
            mode: 'chat',
            system: '',
            template: 'no placeholder here',
            labels: ['ok'],
            maxPromptTokens: 0,
            thoughtTokens: 5,
            temperature: 1,
          }),
        }),
      ],
      [
        ['pipelines[0].prompt.mode', /must be classify or generate/],
        ['pipelines[0].prompt.system', /must not be empty/],
        ['pipelines[0].prompt.template', /at least one \{field\} placeholder/],
        ['pipelines[0].prompt.labels', /2 to 64 labels/],
        ['pipelines[0].prompt.maxPromptTokens', /between 1 and 8192/],
        ['pipelines[0].prompt.temperature', /unknown key/],
      ],
    ],
    [
      [
        llmPipeline({
          prompt: prompt({ labels: ['a', 'a'], template: 'x {__proto__.y}', thoughtTokens: 4 }),
        }),
      ],
      [
        ['pipelines[0].prompt.labels[1]', /duplicates 'a'/],
        ['pipelines[0].prompt.template', /must not use the name '__proto__'/],
        ['pipelines[0].prompt.thoughtTokens', /mode generate only/],
      ],
    ],
    [
      [llmPipeline({ prompt: prompt({ mode: 'generate', maxAnswerTokens: 40 }) })],
      [['pipelines[0].prompt.maxAnswerTokens', /must leave room for a reason/]],
    ],
    [
      [
        llmPipeline({
          decide: { argmax: { labels: ['accept', 'decline', 'review'] } },
        }),
      ],
      [['pipelines[0].decide.argmax.labels', /must equal prompt.labels/]],
    ],
    [
      [llmPipeline({ decide: { argmax: { decisions: { maybe: 'review' } } } })],
      [['pipelines[0].decide.argmax.decisions.maybe', /is not one of prompt.labels/]],
    ],
    [
      [
        llmPipeline({
          decide: { threshold: { output: 3, bands: [{ min: 0.5, decision: 'reject' }], otherwise: 'ok' } },
        }),
      ],
      [['pipelines[0].decide.threshold.output', /one of the 3 prompt.labels/]],
    ],
    [
      [llmPipeline(), llmPipeline({ name: 'second', subscribe: 'tx2/+/in', publish: 'tx2/{1}/out' })],
      [['pipelines[1].model', /llama model llm already serves pipelines\[0\]/]],
    ],
  ];
  for (const [pipelines, expected] of cases) {
    const problems = problemsOf(document({ pipelines }));
    for (const [path, message] of expected) {
      t.ok(
        problems.some((p) => p.path === path && message.test(p.message)),
        `${path}: ${message} (got ${JSON.stringify(problems)})`,
      );
    }
  }
  t.same(
    problemsOf(
      document({
        pipelines: [llmPipeline({ prompt: prompt({ system: 'Line one.\nLine two:\t{not a field}' }) })],
      }),
    ),
    [],
    'newlines and tabs belong in prompts',
  );
  t.ok(
    problemsOf(document({ pipelines: [llmPipeline({ prompt: prompt({ system: 'a\u0007b' }) })] })).some(
      (p) => p.path === 'pipelines[0].prompt.system' && /control characters/.test(p.message),
    ),
  );
});

t.test('the generate answer budget', async (t) => {
  t.equal(reasonMaxChars({ labels: ['accept', 'review', 'decline'], maxAnswerTokens: 64 }), 64 - 30 - 7);
  t.equal(reasonMaxChars({ labels: ['a"b'], maxAnswerTokens: 64 }), 64 - 30 - 4, 'labels count JSON-escaped');
  t.equal(reasonMaxChars({ labels: ['ok', 'no'], maxAnswerTokens: 4096 }), 1024, 'capped');
});

t.test('config/examples/llm-r1.yaml is valid', async (t) => {
  const config = loadConfig(join(packageRoot, 'config', 'examples', 'llm-r1.yaml'), { env: noEnv });
  t.equal(config.models.r1!.llama!.device, 'cpu');
  t.equal(config.models.r1!.threads, 2);
  t.same(config.pipelines[0]!.prompt!.labels, ['accept', 'review', 'decline']);
});
