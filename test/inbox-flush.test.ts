/**
 * daemon/state/inbox.ts with `inserts: 'on-flush'`: new events share one commit, made by `flush()` before their
 * acknowledgements leave; what waits for a commit (a decision's publish) waits for that one.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Inbox } from '../daemon/state/inbox.js';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { tempDir } from './helpers/gateway-process.js';
import { inboxDecision, inboxEvent, inboxState } from './helpers/inbox-fixtures.js';

t.test('inserts are on record after flush(), in one commit, and not before', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(inboxState(dir), { keepInput: false, inserts: 'on-flush' });
  t.teardown(() => inbox.close());
  const reader = new Database(join(dir, INBOX_FILE), { readonly: true });
  t.teardown(() => reader.close());
  const onRecord = (): number =>
    (reader.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;

  t.equal(inbox.insert(inboxEvent('e1')), true);
  t.equal(inbox.insertDecided(inboxEvent('bad'), inboxDecision(null, 'review')), true);
  t.equal(inbox.insert(inboxEvent('e1')), false, 'a redelivery is still seen before the commit');
  let published = false;
  inbox.afterCommit(() => {
    published = true;
  });
  t.equal(onRecord(), 0, 'nothing committed yet');
  t.notOk(published, 'what waits for the commit still waits');

  inbox.flush();
  t.equal(onRecord(), 2, 'both events on record after flush()');
  t.ok(published, 'and what waited for them ran');
  t.doesNotThrow(() => inbox.flush(), 'a flush with nothing pending does nothing');
});

t.test('the end of the turn commits what nobody flushed', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(inboxState(dir), { keepInput: false, inserts: 'on-flush' });
  t.teardown(() => inbox.close());
  inbox.insert(inboxEvent('e1'));
  await new Promise((resolve) => setImmediate(resolve));
  const reader = new Database(join(dir, INBOX_FILE), { readonly: true });
  t.teardown(() => reader.close());
  t.equal((reader.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 1);
});

t.test('on-insert (the default) commits each insert at once', async (t) => {
  const dir = tempDir(t);
  const inbox = Inbox.open(inboxState(dir), { keepInput: false });
  t.teardown(() => inbox.close());
  const reader = new Database(join(dir, INBOX_FILE), { readonly: true });
  t.teardown(() => reader.close());
  inbox.insert(inboxEvent('e1'));
  t.equal((reader.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 1);
});
