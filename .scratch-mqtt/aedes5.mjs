import { createEmbeddedBroker } from '../dist/adapters/embedded-broker.js';
import { createMqttTransport } from '../dist/adapters/mqtt-transport.js';
import pino from 'pino';
const logger = pino({ level: 'debug' });
const b = createEmbeddedBroker({ logger, config: { enabled: true, host: '127.0.0.1', port: 0 } });
const { port } = await b.start();
const mk = (v) => createMqttTransport({ logger, statusTopic: 'infergate/x/status', config: { url: `mqtt://127.0.0.1:${port}`, protocolVersion: v, clientId: 'gw-' + v, keepaliveSec: 10, sessionExpirySec: 300, receiveMaximum: 10, connectTimeoutMs: 2000, reconnect: { minMs: 100, maxMs: 1000 }, tls: { ca: null, cert: null, key: null, rejectUnauthorized: true }, username: null, passwordFile: null, password: null } });
const t5 = mk(5);
try { await t5.start(['a/#'], () => {}); console.log('v5 started?!'); } catch (e) { console.log('v5 start rejected', e.code, e.retryable, e.message); }
const t4 = mk(4);
await t4.start(['a/#'], (m) => console.log('got', m.topic, m.payload.toString()));
await t4.publish('a/b', 'hello', { qos: 1 });
await new Promise(r => setTimeout(r, 200));
await t4.stop(); await t4.stop();
await b.stop(); await b.stop();
console.log('done');
