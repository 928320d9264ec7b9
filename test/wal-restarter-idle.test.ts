/**
 * daemon/state/wal-restarter.ts: the checkpoint thread runs only while the WAL is written. It starts at the
 * first write after a quiet spell and ends once the WAL has not changed for a while, so an idle gateway
 * holds no thread (its isolate was ~10 MiB of RSS) and wakes for no checkpoint.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { GroupCommit } from '../daemon/state/group-commit.js';
import { WalRestarter } from '../daemon/state/wal-restarter.js';
import { WriteGate } from '../daemon/state/write-gate.js';
import { tempDir } from './helpers/onnx-fixtures.js';

const QUIET_MS = 300;
const ROW_BYTES = 1024;

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

t.test(
  'no thread until the WAL is written; it ends when quiet and comes back at the next write',
  async (t) => {
    const file = path.join(tempDir(t), 'state.db');
    const db = new Database(file);
    t.teardown(() => db.close());
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const restarter = new WalRestarter({
      file,
      gate: new WriteGate(),
      // Only a WAL restart (thousands of frames) commits; this test writes a few.
      commits: { commit: () => undefined } as unknown as GroupCommit,
      onWalRestart: () => undefined,
      quietMs: QUIET_MS,
    });
    restarter.start();
    t.teardown(() => restarter.stop());

    await new Promise((resolve) => setTimeout(resolve, 200));
    t.notOk(restarter.threadRunning, 'no thread while nothing is written');

    const sizeBefore = statSync(file).size;
    db.transaction(() => {
      for (let i = 0; i < 50; i++) insert.run('x'.repeat(ROW_BYTES));
    })();
    t.ok(await until(() => restarter.threadRunning, 2000), 'a write starts the thread');
    t.ok(
      await until(() => statSync(file).size >= sizeBefore + 50 * ROW_BYTES, 2000),
      'and it checkpoints what was written',
    );

    // Quiet detection runs on the thread's passes, which slow down to one every 2 s at most.
    t.ok(
      await until(() => !restarter.threadRunning, QUIET_MS + 4000),
      'the thread ends once the WAL is quiet',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.notOk(restarter.threadRunning, 'and its ending (a last checkpoint, a close) does not count as a write');

    insert.run('y'.repeat(ROW_BYTES));
    t.ok(await until(() => restarter.threadRunning, 2000), 'the next write starts it again');

    await restarter.stop();
    await restarter.stop();
    t.notOk(restarter.threadRunning, 'stopped');
    insert.run('z'.repeat(ROW_BYTES));
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.notOk(restarter.threadRunning, 'a write after stop starts nothing');
  },
);
