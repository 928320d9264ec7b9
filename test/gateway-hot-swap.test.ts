/**
 * A model swapped by SIGHUP under a steady event stream, against a real broker: a new file with its new
 * pinned sha256 takes over, every event gets exactly one decision and the model sha in the decisions
 * switches once; a new model refused (wrong sha256, wrong input width) leaves the running one serving,
 * said in the log and counted.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sampleModel, sleep } from './helpers/gateway-process.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test(
  'SIGHUP with a new pinned model under load: switch, none lost or doubled; refused models keep the old',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const oldSha = sha256(sampleModel('atm-risk.fp32'));
    const newSha = sha256(sampleModel('atm-risk.int8'));
    const { config, configFile, dir, gateway, inbox, pub } = await startGatewayFixture(t, {
      collect: ['reply/#'],
      config: async (dir) => {
        copyFileSync(sampleModel('atm-risk.fp32'), join(dir, 'atm-risk.onnx'));
        return {
          models: {
            'atm-risk': { runtime: 'onnx', path: join(dir, 'atm-risk.onnx'), sha256: oldSha, threads: 1 },
          },
          extra: { metrics: { enabled: true, host: '127.0.0.1', port: 0 } },
        };
      },
    });
    const listening = gateway.logs.find((line) => line.msg === 'metrics listening')!;
    const withModel = (model: Record<string, unknown>) =>
      JSON.stringify({ ...config, models: { 'atm-risk': { runtime: 'onnx', threads: 1, ...model } } });

    const total = 360;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; i += 1) {
      if (i === 100) {
        // The new model dropped in at the same path, its sha256 pinned in the config.
        copyFileSync(sampleModel('atm-risk.int8'), join(dir, 'atm-risk.onnx'));
        writeFileSync(configFile, withModel({ path: join(dir, 'atm-risk.onnx'), sha256: newSha }));
        gateway.kill('SIGHUP');
      }
      if (i === 200) {
        // A file that is not the one pinned.
        copyFileSync(sampleModel('atm-risk'), join(dir, 'other.onnx'));
        writeFileSync(configFile, withModel({ path: join(dir, 'other.onnx'), sha256: newSha }));
        gateway.kill('SIGHUP');
      }
      if (i === 280) {
        // The right sha256, but a model of another input width.
        copyFileSync(sampleModel('inspection'), join(dir, 'wide.onnx'));
        const wideSha = sha256(join(dir, 'wide.onnx'));
        writeFileSync(configFile, withModel({ path: join(dir, 'wide.onnx'), sha256: wideSha }));
        gateway.kill('SIGHUP');
      }
      sends.push(
        pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(`swap-${i}`)), {
          qos: 1,
          properties: { responseTopic: 'reply/T1' },
        }),
      );
      await sleep(8);
    }
    await Promise.all(sends);
    await inbox.waitFor(total, 20000);
    await sleep(300);

    const answers = new Map<string, Record<string, unknown>[]>();
    for (const reply of inbox.replies) {
      const id = reply.body.id as string;
      answers.set(id, [...(answers.get(id) ?? []), reply.body]);
    }
    t.equal(answers.size, total, 'every event answered');
    t.same(
      [...answers].filter(([, d]) => d.length !== 1).map(([id]) => id),
      [],
      'none answered twice',
    );
    const shas = Array.from({ length: total }, (_, i) => {
      const body = answers.get(`swap-${i}`)![0]!;
      return (body.model as { sha256: string }).sha256;
    });
    const sources = Array.from({ length: total }, (_, i) => answers.get(`swap-${i}`)![0]!.reason);
    t.same([...new Set(sources)], ['ok'], 'every event decided by a model');
    const first = shas.indexOf(newSha.slice(0, 12));
    t.ok(first >= 100, `the old model decided until the swap (${first} events)`);
    t.ok(
      shas.slice(0, first).every((s) => s === oldSha.slice(0, 12)),
      'before the switch: the old model only',
    );
    t.ok(
      shas.slice(first).every((s) => s === newSha.slice(0, 12)),
      'after the switch: the new model only, also after both refused models',
    );
    t.ok(first < 200, 'the switch happened before the next reload');

    const refused = gateway.logs.filter(
      (l) => l.msg === 'new model refused; the running model keeps serving its pipelines',
    );
    t.same(
      refused.map((l) => [l.model, l.code]),
      [
        ['atm-risk', 'IG_ERR_MODEL_SHA256_MISMATCH'],
        ['atm-risk', 'IG_ERR_MODEL_SHAPE'],
      ],
      'each refusal says which model and why',
    );
    t.equal(gateway.logs.filter((l) => l.msg === 'config reloaded').length, 1, 'one reload applied');
    const metrics = await (await fetch(`http://127.0.0.1:${listening.port as number}/metrics`)).text();
    t.match(
      metrics,
      /infergate_model_refusals_total\{model="atm-risk",code="IG_ERR_MODEL_SHA256_MISMATCH"\} 1/,
    );
    t.match(metrics, /infergate_model_refusals_total\{model="atm-risk",code="IG_ERR_MODEL_SHAPE"\} 1/);
    t.equal(gateway.child.exitCode, null, 'still running');
  },
);
