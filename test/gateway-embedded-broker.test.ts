import t from 'tap';
import { freePort } from './helpers/mosquitto.js';
import {
  atmEvent,
  collector,
  publisher,
  startGateway,
  tempDir,
  testConfig,
  writeConfig,
} from './helpers/gateway-process.js';

t.test('embedded broker: the gateway starts its own aedes and answers over it (MQTT 3.1.1)', async (t) => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const dir = tempDir(t);
  const gateway = await startGateway(
    t,
    writeConfig(dir, testConfig({ url, protocolVersion: 4, embedded: { port }, stateDir: `${dir}/state` })),
  );
  const inbox = await collector(t, url, ['atm/+/decision', 'infergate/gw-test/status'], 4);
  const pub = await publisher(t, url, 4);
  await pub.publishAsync('atm/T5/tx', JSON.stringify(atmEvent('emb-1')), { qos: 1 });
  const replies = await inbox.waitFor(2);
  t.same(replies.find((r) => r.topic === 'infergate/gw-test/status')?.body, { raw: 'online' });
  const reply = replies.find((r) => r.topic === 'atm/T5/decision');
  t.equal(reply?.body.id, 'emb-1');
  t.equal(reply?.body.source, 'model');

  await inbox.client.endAsync();
  await pub.endAsync();
  gateway.kill('SIGTERM');
  const exit = await gateway.exited;
  t.equal(exit.code, 0, 'clean stop: client first, broker after it');
});
