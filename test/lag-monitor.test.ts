/**
 * adapters/ops/lag-monitor.ts: event-loop delay over fixed windows, sampled only while events arrive, so an
 * idle gateway is not woken every 10 ms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { LagMonitor } from '../adapters/ops/lag-monitor.js';

const WINDOW_MS = 200;

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // A stalled event loop, as a slow synchronous handler makes one.
  }
}

t.test('a stall while events arrive shows in the completed window', async (t) => {
  const lag = new LagMonitor(WINDOW_MS);
  lag.start();
  t.teardown(() => lag.stop());
  lag.touch();
  await sleep(50);
  block(80);
  await sleep(WINDOW_MS + 50);
  t.ok(lag.current().max >= 0.05, `max ${(lag.current().max * 1000).toFixed(1)} ms`);
});

t.test('it rests after a window without events and wakes at the next one', async (t) => {
  const lag = new LagMonitor(WINDOW_MS);
  lag.start();
  t.teardown(() => lag.stop());
  t.ok(lag.sampling, 'sampling from the start');
  // The window in progress at start, then one without events: at most two windows and a margin.
  await sleep(2 * WINDOW_MS + 100);
  t.notOk(lag.sampling, 'resting after a window with no event');
  const quiet = lag.current();
  t.ok(Number.isFinite(quiet.p99), 'readers still get the last window');
  lag.touch();
  t.ok(lag.sampling, 'an event wakes it');
  // The histogram times its own timer: a stall needs a sample before it to show.
  await sleep(50);
  block(80);
  await sleep(WINDOW_MS + 50);
  t.ok(lag.current().max >= 0.05, 'and the stall after waking is measured');
  lag.touch();
  await sleep(WINDOW_MS);
  t.ok(lag.sampling, 'a window with an event keeps it sampling');
});

t.test('stop ends the sampling; a touch after stop does nothing', async (t) => {
  const lag = new LagMonitor(WINDOW_MS);
  lag.start();
  lag.stop();
  lag.stop();
  lag.touch();
  t.notOk(lag.sampling);
  t.same(lag.current(), { p50: 0, p99: 0, max: 0 });
});
