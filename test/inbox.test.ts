import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AUDIT_SEGMENT_ROWS } from '../daemon/state/audit-log.js';
import { Inbox } from '../daemon/state/inbox.js';
import { tempDir } from './helpers/gateway-process.js';
import { inboxDecision, inboxEvent, inboxState } from './helpers/inbox-fixtures.js';

const event = inboxEvent;
const decision = inboxDecision;
const state = inboxState;

t.test('an event is recorded once; the same id again is a redelivery', async (t) => {
  const inbox = Inbox.open(state(tempDir(t)), { keepInput: false });
  t.teardown(() => inbox.close());
  t.equal(inbox.insert(event('e1')), true);
  t.equal(inbox.insert(event('e1', '{"other":true}')), false, 'second insert of the id is refused');
  t.equal(inbox.get('p', 'e1')?.payload?.toString(), '{"id":1}', 'the first payload is kept');
  t.equal(inbox.get('p', 'e1')?.state, 'pending');
});

t.test('the first decision wins, the payload is dropped, publish is tracked', async (t) => {
  const inbox = Inbox.open(state(tempDir(t)), { keepInput: false });
  t.teardown(() => inbox.close());
  inbox.insert(event('e1'));
  t.equal(inbox.decide('p', 'e1', decision()), true);
  t.equal(inbox.decide('p', 'e1', decision('reply/x', 'reject')), false, 'a second decision is refused');
  const stored = inbox.get('p', 'e1')!;
  t.equal(stored.state, 'decided');
  t.equal(stored.message, '{"decision":"accept"}');
  t.equal(stored.payload, null, 'raw input not kept after the decision');
  t.equal(stored.inputSha256, 'ab'.repeat(32), 'its sha256 is');
  t.same(
    inbox.unpublished().map((e) => e.eventId),
    ['e1'],
  );
  inbox.markPublished('p', 'e1');
  t.same(inbox.unpublished(), []);
  t.equal(inbox.get('p', 'e1')?.state, 'published');
});

t.test(
  'a publish mark rides along with the next write, or is written by itself after a moment',
  async (t) => {
    const dir = tempDir(t);
    const inbox = Inbox.open(state(dir), { keepInput: false });
    for (const id of ['e1', 'e2', 'e3']) {
      inbox.insert(event(id));
      inbox.decide('p', id, decision());
    }
    await new Promise((resolve) => setImmediate(resolve));
    inbox.markPublished('p', 'e1');
    t.equal(inbox.get('p', 'e1')?.state, 'decided', 'not written at once');
    inbox.insert(event('e4'));
    t.equal(inbox.get('p', 'e1')?.state, 'published', 'committed with the next insert');
    inbox.markPublished('p', 'e2');
    await new Promise((resolve) => setTimeout(resolve, 400));
    t.equal(inbox.get('p', 'e2')?.state, 'published', 'a quiet inbox writes it by itself');
    inbox.markPublished('p', 'e3');
    await inbox.close();
    const reopened = Inbox.open(state(dir), { keepInput: false });
    t.teardown(() => reopened.close());
    t.equal(reopened.get('p', 'e3')?.state, 'published', 'close writes what is left');
  },
);

t.test('privacy.keepInput keeps the payload', async (t) => {
  const inbox = Inbox.open(state(tempDir(t)), { keepInput: true });
  t.teardown(() => inbox.close());
  inbox.insert(event('e1'));
  inbox.decide('p', 'e1', decision());
  t.equal(inbox.get('p', 'e1')?.payload?.toString(), '{"id":1}');
});

t.test('a decision with nowhere to go is final at once', async (t) => {
  const inbox = Inbox.open(state(tempDir(t)), { keepInput: false });
  t.teardown(() => inbox.close());
  t.equal(inbox.insertDecided(event('bad'), decision(null, 'review')), true);
  t.equal(inbox.get('p', 'bad')?.state, 'published');
});

t.test('pending and unpublished rows survive a reopen', async (t) => {
  const dir = tempDir(t);
  const first = Inbox.open(state(dir), { keepInput: false });
  first.insert(event('pending-1'));
  first.insert(event('decided-1'));
  first.decide('p', 'decided-1', decision());
  await first.close();
  await first.close();
  const second = Inbox.open(state(dir), { keepInput: false });
  t.teardown(() => second.close());
  t.same(
    second.pending().map((e) => e.eventId),
    ['pending-1'],
  );
  t.same(
    second.unpublished().map((e) => e.eventId),
    ['decided-1'],
  );
  t.same(second.counts(), { pending: 1, decided: 1, published: 0 });
});

t.test('retention prunes whole old segments of published rows, never pending ones', async (t) => {
  const inbox = Inbox.open(state(tempDir(t)), { keepInput: false });
  t.teardown(() => inbox.close());
  inbox.insert(event('still-pending'));
  const total = AUDIT_SEGMENT_ROWS * 2 + 10;
  for (let i = 0; i < total; i += 1) {
    inbox.insert(event(`e${i}`));
    inbox.decide('p', `e${i}`, decision());
    inbox.markPublished('p', `e${i}`);
  }
  t.equal(inbox.prune(Number.MAX_SAFE_INTEGER), AUDIT_SEGMENT_ROWS * 2, 'two whole segments pruned');
  t.equal(inbox.anchor().seq, AUDIT_SEGMENT_ROWS * 2);
  t.same(
    inbox.pending().map((e) => e.eventId),
    ['still-pending'],
  );
  t.equal(inbox.prune(Number.MAX_SAFE_INTEGER), 0, 'the rest is less than a segment');
  t.equal(inbox.prune(0), 0, 'nothing is old enough');
});

t.test('a state dir that cannot be created is IG_ERR_STATE_OPEN', async (t) => {
  const file = join(tempDir(t), 'a-file');
  writeFileSync(file, '');
  t.throws(() => Inbox.open(state(join(file, 'state')), { keepInput: false }), {
    code: 'IG_ERR_STATE_OPEN',
  });
});
