/**
 * Under a steady stream of events the WAL stays bounded: the checkpointer thread copies it back while the
 * writer keeps appending, and once it passes WAL_RESTART_FRAMES the inbox holds its writes for the thread's
 * last pass, so its next transaction restarts the WAL. Without that moment the WAL only ever grows (it
 * cannot restart while frames keep arriving during a checkpoint), up to the writer's own safety-net
 * checkpoint at WRITER_CHECKPOINT_FRAMES.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Inbox } from '../daemon/state/inbox.js';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { CHECKPOINT_INTERVAL_MS } from '../daemon/state/wal-checkpointer.js';
import { WAL_RESTART_FRAMES, WRITER_CHECKPOINT_FRAMES } from '../daemon/state/wal-restarter.js';
import { tempDir } from './helpers/gateway-process.js';

const PAGE_BYTES = 4096;
/** Events per event-loop turn, as a busy gateway writes them. */
const EVENTS_PER_TURN = 10;
/** Between turns, ms: ~2,000 events/s, a gateway at full load on a small box. */
const TURN_MS = 5;
/** Long enough for several checkpointer rounds. */
const RUN_MS = 16 * CHECKPOINT_INTERVAL_MS;

t.test('the WAL is restarted while events keep coming', async (t) => {
  const dir = tempDir(t);
  const reported: { heldMs: number; restarted: boolean }[] = [];
  const inbox = Inbox.open(
    { dir, retentionHours: 1, synchronous: 'normal' },
    { keepInput: false, onWalRestart: (heldMs, restarted) => reported.push({ heldMs, restarted }) },
  );
  t.teardown(() => inbox.close());
  const wal = join(dir, `${INBOX_FILE}-wal`);
  const payload = Buffer.from(JSON.stringify({ id: 'x', amount: 120.5, note: 'n'.repeat(200) }));
  let largestWal = 0;
  let n = 0;
  const until = performance.now() + RUN_MS;
  let held = 0;
  let restarts = 0;
  let firstSequence: number | undefined;
  while (performance.now() < until) {
    // As the gateway does: a writer waits while the WAL restarts.
    if (!inbox.writable) held += 1;
    await inbox.whenWritable();
    for (let i = 0; i < EVENTS_PER_TURN; i += 1, n += 1) {
      const eventId = `e${n}`;
      inbox.insert({
        pipeline: 'p',
        eventId,
        topic: 'atm/T1/tx',
        receivedAt: Date.now(),
        deadlineAt: Date.now() + 300,
        expiresAt: null,
        responseTopic: 'reply/x',
        correlation: Buffer.from(eventId),
        payload,
        inputSha256: 'ab'.repeat(32),
      });
      inbox.decide('p', eventId, {
        decision: 'accept',
        source: 'model',
        reason: 'ok',
        model: 'm',
        modelSha256: 'cd'.repeat(32),
        latencyMs: 1.2,
        decidedAt: Date.now(),
        message: JSON.stringify({ id: eventId, decision: 'accept', note: 'm'.repeat(200) }),
        replyTopic: 'reply/x',
      });
      inbox.markPublished('p', eventId);
    }
    await new Promise((resolve) => setTimeout(resolve, TURN_MS));
    largestWal = Math.max(largestWal, statSync(wal).size);
    firstSequence ??= checkpointSequence(wal);
    restarts = Math.max(restarts, checkpointSequence(wal) - firstSequence);
  }
  t.ok(
    restarts >= 1,
    `the WAL restarted ${restarts} times (${n} events; writes found it held ${held} times)`,
  );
  // A restart rewinds to the start of the file; what is left past the threshold is what arrives between
  // two passes of the thread. Without the restart, these writes fill the WAL up to the writer's safety net.
  const bound = 2 * WAL_RESTART_FRAMES * (PAGE_BYTES + 24);
  t.ok(bound < WRITER_CHECKPOINT_FRAMES * PAGE_BYTES, 'the bound is below the safety net');
  t.ok(
    largestWal <= bound,
    `largest WAL ${(largestWal / 2 ** 20).toFixed(1)} MiB <= ${(bound / 2 ** 20).toFixed(1)} MiB`,
  );
  t.equal(inbox.counts().published, n, 'every event recorded');
  const restartedReports = reported.filter((report) => report.restarted);
  t.ok(restartedReports.length >= restarts, `each restart reported (${restartedReports.length})`);
  const longest = Math.max(...reported.map((report) => report.heldMs));
  t.ok(longest < 200, `writes held ${longest.toFixed(1)} ms at most`);
});

/** The WAL header's checkpoint sequence number: SQLite adds one each time the WAL restarts. */
function checkpointSequence(file: string): number {
  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
}
