/** The top-level help fits a 100-column terminal, every command listed with its summary. */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { cliPath } from './helpers/gateway-process.js';

t.test('infergate --help: every line within 100 columns, every command shown', async (t) => {
  const help = spawnSync(process.execPath, [cliPath, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  const lines = help.stdout.trimEnd().split('\n');
  const long = lines.filter((line) => line.length > 100);
  t.same(long, [], 'no line over 100 columns');
  for (const command of ['run', 'check-config', 'quantize', 'eval', 'audit']) {
    t.ok(
      lines.some((line) => line.startsWith(`  infergate ${command}`)),
      `${command} listed`,
    );
  }
  t.match(help.stdout, /--accuracy-level N/, 'long usages are wrapped, not cut');
  t.match(help.stdout, /exit codes: 0 ok/);
});

t.test('the usage shown after a usage error fits too', async (t) => {
  const wrong = spawnSync(process.execPath, [cliPath, 'frobnicate'], { encoding: 'utf8' });
  t.equal(wrong.status, 64);
  t.same(
    wrong.stderr.split('\n').filter((line) => line.length > 100),
    [],
  );
});
