import { writeFileSync } from 'node:fs';
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep } from './helpers/gateway-process.js';

t.test(
  'SIGHUP mid-stream: a changed threshold applies without dropping or doubling an event; an invalid file is refused',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { config, configFile, gateway, inbox, pub } = await startGatewayFixture(t, {
      collect: ['reply/#'],
    });

    const pipeline = (config.pipelines as Record<string, unknown>[])[0]!;
    // Every score reaches min 0: after the reload every model decision is `reject`.
    const everythingRejected = {
      ...config,
      pipelines: [
        {
          ...pipeline,
          decide: { threshold: { output: 0, bands: [{ min: 0, decision: 'reject' }], otherwise: 'accept' } },
        },
      ],
    };

    const total = 400;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; i += 1) {
      if (i === 130) {
        writeFileSync(configFile, JSON.stringify(everythingRejected));
        gateway.kill('SIGHUP');
      }
      if (i === 270) {
        writeFileSync(
          configFile,
          JSON.stringify({ ...everythingRejected, pipelines: [{ ...pipeline, budgetMs: -5 }], surprise: 1 }),
        );
        gateway.kill('SIGHUP');
      }
      sends.push(
        pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(`hup-${i}`)), {
          qos: 1,
          properties: { responseTopic: 'reply/T1' },
        }),
      );
      await sleep(8);
    }
    await Promise.all(sends);
    await inbox.waitFor(total, 15000);
    await sleep(300);

    const answers = new Map<string, string[]>();
    for (const reply of inbox.replies) {
      const id = reply.body.id as string;
      answers.set(id, [...(answers.get(id) ?? []), reply.body.decision as string]);
    }
    t.equal(answers.size, total, 'every event answered');
    t.same(
      [...answers].filter(([, d]) => d.length !== 1).map(([id]) => id),
      [],
      'none answered twice',
    );
    const order = Array.from({ length: total }, (_, i) => answers.get(`hup-${i}`)?.[0]);
    const firstReject = order.indexOf('reject');
    t.ok(firstReject > 0, `the old rules served first (${firstReject} events)`);
    t.ok(
      order.slice(0, firstReject).every((d) => d !== 'reject'),
      'before the switch: old rules only',
    );
    t.ok(
      order.slice(firstReject).every((d) => d === 'reject'),
      'after the switch: new rules only, also after the invalid file',
    );
    t.ok(
      order.slice(-50).every((d) => d === 'reject'),
      'the invalid file did not replace the running config',
    );

    const reloaded = gateway.logs.filter((l) => l.msg === 'config reloaded');
    t.equal(reloaded.length, 1, 'one successful reload');
    t.ok(
      gateway.logs.some(
        (l) => l.msg === 'config reload refused: the file is invalid; still running on the previous config',
      ),
    );
    const problems = gateway.logs
      .filter((l) => l.level === 50 && typeof l.path === 'string')
      .map((l) => l.path);
    t.ok(problems.includes('pipelines[0].budgetMs'), 'the bad budget is logged with its path');
    t.ok(problems.includes('surprise'), 'the unknown key is logged too: every problem listed');
    t.equal(gateway.child.exitCode, null, 'still running');
  },
);
