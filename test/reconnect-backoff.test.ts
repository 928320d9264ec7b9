import t from 'tap';
import { ReconnectBackoff } from '../adapters/mqtt/reconnect-backoff.js';

/** A random() that replays `values` in a loop. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

t.test('full jitter: the ceiling doubles from min up to max', async (t) => {
  const top = new ReconnectBackoff({ minMs: 100, maxMs: 1_000, random: () => 0.999_999 });
  t.same(
    Array.from({ length: 7 }, () => top.next()),
    [100, 200, 400, 800, 1_000, 1_000, 1_000],
  );
  const bottom = new ReconnectBackoff({ minMs: 100, maxMs: 1_000, random: () => 0 });
  t.same(
    Array.from({ length: 5 }, () => bottom.next()),
    [100, 100, 100, 100, 100],
    'never below min, even with random() = 0',
  );
  const middle = new ReconnectBackoff({ minMs: 100, maxMs: 1_000, random: () => 0.5 });
  t.same(
    Array.from({ length: 4 }, () => middle.next()),
    [100, 150, 250, 450],
  );
});

t.test('reset() starts over from min', async (t) => {
  const backoff = new ReconnectBackoff({ minMs: 50, maxMs: 10_000, random: () => 0.999_999 });
  for (let i = 0; i < 6; i++) backoff.next();
  t.equal(backoff.next(), 3_200);
  backoff.reset();
  t.equal(backoff.next(), 50);
  t.equal(backoff.next(), 100);
});

t.test('decorrelated jitter grows from the previous delay, bounded by [min, max]', async (t) => {
  const backoff = new ReconnectBackoff({
    minMs: 100,
    maxMs: 1_000,
    jitter: 'decorrelated',
    random: sequence(0.999_999, 0.999_999, 0.999_999, 0.5, 0),
  });
  const delays = Array.from({ length: 6 }, () => backoff.next());
  // 100 → up to 300 → up to 900 → capped 1000 → 100 + 0.5·900 → 100 (random 0) → up to 300
  t.same(delays, [300, 900, 1_000, 550, 100, 300]);
  t.equal(
    new ReconnectBackoff({ minMs: 100, maxMs: 1_000, jitter: 'decorrelated', random: () => 0 }).next(),
    100,
  );
});

t.test('stays within bounds with Math.random over many attempts', async (t) => {
  for (const jitter of ['full', 'decorrelated'] as const) {
    const backoff = new ReconnectBackoff({ minMs: 250, maxMs: 30_000, jitter });
    for (let i = 0; i < 10_000; i++) {
      const delay = backoff.next();
      if (!Number.isInteger(delay) || delay < 250 || delay > 30_000) {
        t.fail(`${jitter}: delay ${delay} out of [250, 30000] at attempt ${i}`);
        return;
      }
    }
    t.pass(`${jitter}: 10,000 delays are whole ms in [min, max]`);
  }
});

t.test('degenerate bounds are normalised, never zero (MQTT.js treats 0 as "never reconnect")', async (t) => {
  t.equal(new ReconnectBackoff({ minMs: 0, maxMs: 0 }).next(), 1);
  const inverted = new ReconnectBackoff({ minMs: 500, maxMs: 100, random: () => 0.9 });
  t.same([inverted.next(), inverted.next()], [500, 500]);
  t.equal(inverted.maxMs, 500);
});
