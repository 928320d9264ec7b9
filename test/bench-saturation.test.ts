import t from 'tap';
import type { LoadResult } from '../bench/load-generator.js';
import { saturation, saturationTable } from '../bench/report.js';

function step(target: string, rate: number, inBudgetPct: number, unanswered = 0): LoadResult {
  const sent = rate * 10;
  return { target, event: 'wide', rate, sent, answered: sent - unanswered, inBudgetPct } as LoadResult;
}

t.test('saturation is the highest rate sustained with every lower rate sustained too', (t) => {
  const rows = saturation([
    step('gateway', 1000, 100),
    step('nodered', 1000, 100),
    step('gateway', 4000, 99.95),
    step('nodered', 4000, 97.3),
    step('gateway', 5000, 99.2),
    // Sustained again above a failed rate: a noisy step, not the saturation.
    step('nodered', 5000, 100),
    step('bare', 4000, 100, 3),
  ]);
  t.same(rows, [
    { event: 'wide', target: 'gateway', sustainedRate: 4000, next: { rate: 5000, inBudgetPct: 99.2 } },
    { event: 'wide', target: 'nodered', sustainedRate: 1000, next: { rate: 4000, inBudgetPct: 97.3 } },
    { event: 'wide', target: 'bare', sustainedRate: null, next: { rate: 4000, inBudgetPct: 100 } },
  ]);
  t.match(saturationTable(rows), /gateway\s+4000\s+5000\s+99\.20/);
  t.match(saturationTable(rows), /bare\s+none/);
  t.end();
});
