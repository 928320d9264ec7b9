import { startMosquitto } from '../dist/test/helpers/mosquitto.js';
import { connectProbe } from '../dist/test/helpers/mqtt-probe.js';
const broker = await startMosquitto();
const pub = await connectProbe(broker.url);
await pub.publish('r/t', 'sticky', { qos: 1, retain: true });
for (const rh of [0, 1]) {
  const counts = [];
  for (let run = 0; run < 2; run++) {
    const p = await connectProbe(broker.url, { clientId: 'rh' + rh, clean: false, sessionExpirySec: 300 });
    await p.client.subscribeAsync('r/t', { qos: 1, rh });
    await new Promise(r => setTimeout(r, 200));
    counts.push(p.messages.length);
    await p.end();
  }
  console.log('rh', rh, counts);
}
await pub.end(); await broker.stop();
