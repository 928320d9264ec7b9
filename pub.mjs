import mqtt from 'mqtt';
const c = await mqtt.connectAsync('mqtt://127.0.0.1:18830', { protocolVersion: 5 });
let got = 0; const lat = [];
const sent = new Map();
c.on('message', (t, p) => { const b = JSON.parse(p); got++; lat.push(performance.now() - sent.get(b.id)); });
await c.subscribeAsync('bench/reply/#', { qos: 1 });
const rate = Number(process.argv[2] ?? 500), dur = 3;
const t0 = performance.now();
for (let i = 0; i < rate * dur; i++) {
  const due = t0 + (i * 1000) / rate;
  const wait = due - performance.now(); if (wait > 1) await new Promise(r => setTimeout(r, wait));
  const id = 'x' + i + '-' + process.pid;
  sent.set(id, performance.now());
  c.publish('atm/T1/tx', JSON.stringify({ id, amount: 12, currency: 'domestic', hour: 3, weekday: 2, cardPresent: true, velocity: { count10m: 1, sum10m: 1, count24h: 1, sum24h: 1 }, distanceKm: 1, pinTries: 0 }), { qos: 1, properties: { responseTopic: 'bench/reply/a', correlationData: Buffer.from(id) } });
}
await new Promise(r => setTimeout(r, 2000));
lat.sort((a, b) => a - b);
console.log('sent', rate * dur, 'got', got, 'p50', lat[Math.floor(lat.length / 2)]?.toFixed(1), 'p99', lat[Math.floor(lat.length * 0.99)]?.toFixed(1));
await c.endAsync();
