/**
 * The status page of a running gateway, in a real headless browser (Debian's chromium): after some events
 * and two malformed ones, the page's own script has fetched /status.json and shows the pipelines, their
 * p99 against the budget, the dead-letter codes and topics, the broker connection, the model and its card,
 * and whether an LLM runs (and on which llama.cpp build and CPU variant) — and never a payload value.
 * With INFERGATE_STATUS_SCREENSHOT=FILE the LLM case also writes the screenshot docs/status-page.png shows.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseLlamaDevice } from '../adapters/llama/device-report.js';
import type { StatusSnapshot } from '../adapters/ops/status-snapshot.js';
import { dumpDom, requireChromium, screenshot, visibleText } from './helpers/chromium.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, atmPipeline, sampleModel, type GatewayProcess } from './helpers/gateway-process.js';
import {
  llmModelEntry,
  llmStartup,
  tinyGguf,
  triageEvent,
  triagePipeline,
} from './helpers/llama-fixtures.js';
import { requireMosquitto } from './helpers/mosquitto.js';

/** A card number inside malformed events: it must never reach the page or its JSON. */
const SECRET = '4111111111111111';
const METRICS = { metrics: { enabled: true, host: '127.0.0.1', port: 0 } };

const inspectionPipeline = {
  name: 'inspection',
  subscribe: 'plant/+/+/part',
  publish: 'plant/{1}/{2}/verdict',
  responseTopics: [],
  model: 'inspection',
  budgetMs: 150,
  fallback: 'review',
  input: {
    fields: [
      'dims.lengthMm',
      'dims.widthMm',
      'dims.heightMm',
      'dims.holeDiameterMm',
      'dims.flatnessUm',
      'thermal.temperatureC',
      'thermal.deltaC',
      'torque.nm',
      'torque.angleDeg',
      'vibration.band1',
      'vibration.band2',
      'vibration.band3',
      'vibration.band4',
      'vibration.band5',
      'vibration.band6',
      'cycleTimeS',
    ],
  },
  decide: {
    argmax: {
      labels: ['ok', 'dimensional', 'thermal', 'vibration'],
      decisions: { ok: 'accept', dimensional: 'reject', thermal: 'reject', vibration: 'reject' },
      minConfidence: 0.6,
      lowConfidence: 'review',
    },
  },
};

function part(id: string, i: number): Record<string, unknown> {
  return {
    id,
    dims: { lengthMm: 120 + i * 0.01, widthMm: 45, heightMm: 30, holeDiameterMm: 8, flatnessUm: 11.6 },
    thermal: { temperatureC: 41.3, deltaC: 3.3 },
    torque: { nm: 25, angleDeg: 90.2 },
    vibration: { band1: 1.26, band2: 0.92, band3: 0.7, band4: 0.53, band5: 0.37, band6: 0.26 },
    cycleTimeS: 12.1,
  };
}

/** As the page prints milliseconds. */
function ms(value: number): string {
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${Math.round(value)} ms`;
}

function statusBase(gateway: GatewayProcess): string {
  const listening = gateway.logs.find((line) => line.msg === 'metrics listening')!;
  return `http://127.0.0.1:${listening.port as number}`;
}

t.test('an ONNX gateway: pipelines, p99, dead letters, broker, model card; no payload', async (t) => {
  const chromium = requireChromium(t);
  if (chromium === undefined || !requireMosquitto(t)) return;
  const { gateway, inbox, pub } = await startGatewayFixture(t, {
    collect: ['atm/+/decision', 'plant/+/+/verdict'],
    config: {
      models: {
        'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk'), threads: 1 },
        inspection: { runtime: 'onnx', path: sampleModel('inspection'), threads: 1 },
      },
      pipelines: [atmPipeline(), inspectionPipeline],
      extra: METRICS,
    },
  });
  for (let i = 0; i < 20; i++) {
    await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(`tx-${i}`, { amount: 50 + i * 90 })), {
      qos: 1,
    });
  }
  for (let i = 0; i < 10; i++) {
    await pub.publishAsync('plant/L1/S2/part', JSON.stringify(part(`p-${i}`, i)), { qos: 1 });
  }
  await pub.publishAsync('atm/T7/tx', JSON.stringify(atmEvent('bad-1', { amount: SECRET })), { qos: 1 });
  await pub.publishAsync('plant/L1/S9/part', `card ${SECRET} not json`, { qos: 1 });
  const replies = await inbox.waitFor(32, 15_000);
  t.equal(replies.length, 32, 'every event answered');

  const base = statusBase(gateway);
  const page = await fetch(`${base}/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'none'; script-src 'sha256-[^']+'/);
  const html = await page.text();
  t.notMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external asset');
  t.notMatch(html, /<(link|img|iframe)\b/i, 'no linked stylesheet, image or frame');

  const snapshot = (await (await fetch(`${base}/status.json`)).json()) as StatusSnapshot;
  t.notMatch(JSON.stringify(snapshot), SECRET, 'no payload in status.json');
  const [atm, inspection] = snapshot.pipelines;
  t.match(atm, { name: 'atm-risk', budgetMs: 300, latency: { count: 21 } });
  t.match(inspection, { name: 'inspection', budgetMs: 150, latency: { count: 11 } });

  const dom = dumpDom(chromium, `${base}/`);
  t.notMatch(dom, SECRET, 'no payload value on the page');
  const text = visibleText(dom);
  t.match(text, /infergate · gw-test/, 'the gateway id');
  t.match(text, /\bready\b/);
  for (const pipeline of [atm!, inspection!]) {
    t.ok(text.includes(pipeline.name), `pipeline ${pipeline.name}`);
    t.ok(text.includes(`${pipeline.budgetMs} ms`), `${pipeline.name}: its budget`);
    t.ok(text.includes(ms(pipeline.latency.p99Ms!)), `${pipeline.name}: p99 ${ms(pipeline.latency.p99Ms!)}`);
  }
  t.match(text, /within budget/);
  t.match(text, /IG_ERR_INPUT_NOT_JSON/, 'a dead-letter code');
  t.match(text, /plant\/L1\/S9\/part/, 'its topic');
  t.match(text, /atm\/T7\/tx/);
  t.match(text, /invalid_input/, 'decisions by reason');
  t.match(text, /state connected/, 'broker connected');
  t.match(text, /MQTT 5/);
  t.ok(text.includes(snapshot.models[0]!.sha256!), 'the model sha256');
  t.match(text, /int4 \(com\.microsoft MatMulNBits/, 'the quantization');
  t.match(text, /rocAuc ★ 0\.96/, "the card's headline metric");
  t.match(text, /no LLM pipeline/);
});

t.test('an LLM pipeline: the llama.cpp build and CPU variant the process loaded', async (t) => {
  const chromium = requireChromium(t);
  if (chromium === undefined || !requireMosquitto(t)) return;
  const model = await tinyGguf();
  const { gateway, inbox, pub } = await startGatewayFixture(t, {
    collect: ['atm/+/decision', 'tx/+/out'],
    config: {
      models: {
        'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk'), threads: 1 },
        llm: { ...llmModelEntry(model.path), sha256: model.sha256 },
      },
      pipelines: [atmPipeline(), triagePipeline()],
      extra: METRICS,
    },
    spawn: llmStartup,
  });
  for (let i = 0; i < 12; i++) {
    await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(`tx-${i}`, { amount: 40 + i * 150 })), {
      qos: 1,
    });
  }
  for (let i = 0; i < 4; i++) {
    await pub.publishAsync(`tx/T${i}/in`, JSON.stringify(triageEvent(`llm-${i}`, { amount: 20 + i * 300 })), {
      qos: 1,
    });
  }
  await pub.publishAsync('atm/T7/tx', JSON.stringify(atmEvent('bad-1', { amount: SECRET })), { qos: 1 });
  await pub.publishAsync('tx/T9/in', `{"id": "broken", "pan": "${SECRET}"`, { qos: 1 });
  t.equal((await inbox.waitFor(18, 30_000)).length, 18, 'every event answered');

  const expected = parseLlamaDevice(readFileSync(`/proc/${gateway.child.pid}/maps`, 'utf8'));
  t.ok(expected !== null, 'the gateway process mapped a llama.cpp build');
  const base = statusBase(gateway);
  const dom = dumpDom(chromium, `${base}/`);
  t.notMatch(dom, SECRET, 'no payload value on the page');
  const text = visibleText(dom);
  t.notMatch(text, /no LLM pipeline/);
  t.match(text, /LLM runtime pipelines triage/);
  t.match(text, new RegExp(`device ${expected!.build}\\b`), `device ${expected!.build}`);
  if (expected!.cpuVariant !== null) {
    t.match(
      text,
      new RegExp(`CPU variant ${expected!.cpuVariant}\\b`),
      `CPU variant ${expected!.cpuVariant}`,
    );
  }
  t.match(text, /node-llama-cpp \(cpu/, 'the runtime as the model reports it');

  const file = process.env.INFERGATE_STATUS_SCREENSHOT;
  if (file) {
    screenshot(chromium, `${base}/`, file);
    t.pass(`screenshot written to ${file}`);
  }
});
