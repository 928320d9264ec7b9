/**
 * daemon/state/wal-checkpointer.ts: the worker folds the WAL back into the database file, also when the process
 * runs from a directory where `better-sqlite3` cannot be resolved (systemd starts the daemon in `/`).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { CHECKPOINT_INTERVAL_MS, WalCheckpointer } from '../daemon/state/wal-checkpointer.js';
import { tempDir } from './helpers/onnx-fixtures.js';

const ROWS = 400;
const ROW_BYTES = 1024;

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

t.test('checkpoints run from a working directory without node_modules', async (t) => {
  const file = path.join(tempDir(t), 'state.db');
  const db = new Database(file);
  t.teardown(() => db.close());
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (v TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run('x'.repeat(ROW_BYTES));
  })();
  const before = statSync(file).size;
  t.ok(before < (ROWS * ROW_BYTES) / 4, `the rows are still in the WAL (${before} bytes in the file)`);

  // The worker resolves modules when it starts, from the process's working directory at that time.
  const home = process.cwd();
  process.chdir(tempDir(t));
  t.teardown(() => process.chdir(home));
  const checkpointer = new WalCheckpointer({ file });
  checkpointer.start();
  const folded = await until(() => statSync(file).size >= ROWS * ROW_BYTES, 10 * CHECKPOINT_INTERVAL_MS);
  process.chdir(home);
  await checkpointer.stop();
  await checkpointer.stop();
  t.ok(folded, `the checkpoint moved the rows into the database file (${statSync(file).size} bytes)`);
});

t.test(
  'after a quiet spell the passes come further apart, and new frames are still checkpointed',
  async (t) => {
    const file = path.join(tempDir(t), 'state.db');
    const db = new Database(file);
    t.teardown(() => db.close());
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const passes: { at: number; walFrames: number; checkpointed: number }[] = [];
    const checkpointer = new WalCheckpointer({
      file,
      intervalMs: 20,
      idleIntervalMs: 160,
      onPass: (pass) => passes.push({ at: performance.now(), ...pass }),
    });
    checkpointer.start();
    t.teardown(() => checkpointer.stop());
    insert.run('x'.repeat(ROW_BYTES));
    t.ok(
      await until(() => passes.some((p) => p.walFrames > 0 && p.checkpointed === p.walFrames), 2000),
      'the first frames are checkpointed',
    );
    // Quiet long enough for the pause to reach its longest.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const seen = passes.length;
    const wroteAt = performance.now();
    db.transaction(() => {
      for (let i = 0; i < 50; i++) insert.run('y'.repeat(ROW_BYTES));
    })();
    t.ok(await until(() => passes.length > seen, 2000), 'a pass finds the new frames');
    const waited = passes[seen].at - wroteAt;
    t.ok(waited <= 160 + 150, `within the longest pause (${waited.toFixed(0)} ms)`);
    t.ok(passes[seen].walFrames > passes[seen - 1].walFrames, 'with more frames than before');
  },
);
