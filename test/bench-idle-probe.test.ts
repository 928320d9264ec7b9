/**
 * bench/idle-probe.ts: `--idle` reads CPU and wake-ups of running processes from /proc, and prints the
 * gateway's figures against its peers'.
 */
import t from 'tap';
import { idleTable, measureIdle, threadSwitches } from '../bench/idle-probe.js';

t.test(
  'wake-ups of a process that sleeps on a 10 ms timer',
  { skip: process.platform !== 'linux' && 'needs /proc' },
  async (t) => {
    t.ok((threadSwitches(process.pid)?.size ?? 0) >= 1, 'every thread of this process is listed');
    const timer = setInterval(() => undefined, 10);
    const [sample] = await measureIdle([process.pid], 0.5);
    clearInterval(timer);
    t.ok(sample !== null);
    // ~100 timer firings a second, each a sleep of the main thread; other threads add a few.
    t.ok(sample!.wakeupsPerSec >= 50, `${sample!.wakeupsPerSec} wake-ups/s`);
    t.ok(sample!.cpuPercent >= 0 && sample!.cpuPercent < 100, `${sample!.cpuPercent} % of a core`);
    t.same(await measureIdle([2 ** 30], 0), [null], 'a process that is not there reads as null');
  },
);

t.test('the table divides the gateway by each peer', async (t) => {
  const sample = (cpuPercent: number, wakeupsPerSec: number) => ({
    seconds: 30,
    cpuPercent,
    wakeupsPerSec,
    threads: 11,
  });
  const text = idleTable([
    {
      event: 'atm',
      settleSec: 25,
      samples: { bare: sample(0.05, 0.5), gateway: sample(0.1, 2), broker: sample(0, 10) },
    },
  ]);
  const lines = text.split('\n');
  t.match(lines[2], /^atm\s+gateway\s/, 'the gateway comes first');
  t.match(lines[3], /bare\s+0\.050\s+0\.50\s+11\s+2\.00x\s+4\.00x$/);
  t.notMatch(lines[4], /x$/, 'no ratio for the broker');
});
