import t from 'tap';
import { ErrorCodes, TopicError } from '../daemon/errors.js';
import {
  MAX_TOPIC_BYTES,
  filtersOverlap,
  matchTopic,
  renderTopicTemplate,
  stripSharePrefix,
  templateAsFilter,
  templateMaxCapture,
  validatePublishTopic,
  validateSubscriptionFilter,
  validateTopicTemplate,
  wildcardCount,
} from '../daemon/topics.js';
import { thrown } from './helpers/thrown.js';

t.test('validateSubscriptionFilter accepts the filters of §4.7', async (t) => {
  for (const filter of [
    '#',
    '+',
    'a',
    'a/b/c',
    'sport/tennis/#',
    'sport/+',
    '+/tennis/#',
    '+/+',
    '/+',
    'a//b',
    '$SYS/#',
    'atm/+/tx',
    '$share/gateways/atm/+/tx',
    '$share/g/#',
    '$sharefoo/x', // only a first level of exactly `$share` makes a shared subscription
    'caf\u00e9/\ud83d\ude00',
  ]) {
    t.equal(validateSubscriptionFilter(filter), null, filter);
  }
});

t.test('validateSubscriptionFilter refuses malformed filters', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['sport/tennis#', /'#' must occupy a whole topic level/],
    ['sport/tennis/#/ranking', /'#' must be the last/],
    ['#/a', /'#' must be the last/],
    ['sport+', /'\+' must occupy a whole topic level/],
    ['sport/+tennis', /'\+' must occupy a whole topic level/],
    ['a/\u0000/b', /NUL/],
    ['a/\u0007', /control/],
    ['a/\ud800', /UTF-8/],
    ['x'.repeat(MAX_TOPIC_BYTES + 1), /65535 bytes/],
    ['\u00e9'.repeat(40000), /65535 bytes/], // 80000 bytes of UTF-8 in 40000 characters
    ['$share', /group name/],
    ['$share/', /group name/],
    ['$share//a', /group name/],
    ['$share/g', /topic filter after the group/],
    ['$share/g/', /topic filter after the group/],
    ['$share/g+/a', /group name must not contain/],
    ['$share/#/a', /group name must not contain/],
    ['$share/g/a/#/b', /'#' must be the last/],
  ];
  for (const [filter, message] of cases) {
    t.match(validateSubscriptionFilter(filter), message, JSON.stringify(filter.slice(0, 40)));
  }
});

t.test('stripSharePrefix and wildcardCount', async (t) => {
  t.equal(stripSharePrefix('$share/g/atm/+/tx'), 'atm/+/tx');
  t.equal(stripSharePrefix('atm/+/tx'), 'atm/+/tx');
  t.equal(stripSharePrefix('$sharefoo/x'), '$sharefoo/x');
  t.equal(wildcardCount('atm/+/tx'), 1);
  t.equal(wildcardCount('plant/+/+/part'), 2);
  t.equal(wildcardCount('a/+/#'), 2);
  t.equal(wildcardCount('$share/group/+/b/#'), 2, 'the group level is not a wildcard');
  t.equal(wildcardCount('a/b'), 0);
});

t.test('matchTopic returns captures in order', async (t) => {
  t.same(matchTopic('atm/+/tx', 'atm/T42/tx'), ['T42']);
  t.same(matchTopic('plant/+/+/part', 'plant/l1/s7/part'), ['l1', 's7']);
  t.same(matchTopic('a/b', 'a/b'), []);
  t.same(matchTopic('a/#', 'a/b/c/d'), ['b/c/d'], '# captures the rest joined with /');
  t.same(matchTopic('a/+/#', 'a/b/c/d'), ['b', 'c/d']);
  t.same(matchTopic('a/#', 'a'), [''], '# also matches the parent level');
  t.same(matchTopic('#', 'x/y'), ['x/y']);
  t.same(matchTopic('+', 'x'), ['x']);
  t.same(matchTopic('a/+/c', 'a//c'), [''], '+ matches an empty level');
  t.same(matchTopic('/+', '/finance'), ['finance']);
  t.same(matchTopic('$share/g/atm/+/tx', 'atm/T1/tx'), ['T1'], 'shared prefix is not part of the match');
  t.same(matchTopic('$SYS/#', '$SYS/broker/load'), ['broker/load']);
});

t.test('matchTopic refuses non-matches', async (t) => {
  t.equal(matchTopic('atm/+/tx', 'atm/T42/rx'), null);
  t.equal(matchTopic('atm/+/tx', 'atm/T42/tx/extra'), null);
  t.equal(matchTopic('atm/+/tx', 'atm/tx'), null);
  t.equal(matchTopic('a/b', 'a'), null);
  t.equal(matchTopic('a/+', 'a'), null, '+ needs a level to match');
  t.equal(matchTopic('A/b', 'a/b'), null, 'case-sensitive');
});

t.test('wildcards at the first level do not match $ topics [MQTT-4.7.2-1]', async (t) => {
  t.equal(matchTopic('#', '$SYS/broker'), null);
  t.equal(matchTopic('+/monitor/Clients', '$SYS/monitor/Clients'), null);
  t.equal(matchTopic('$share/g/#', '$SYS/x'), null);
  t.same(matchTopic('$SYS/monitor/+', '$SYS/monitor/Clients'), ['Clients']);
});

t.test('matchTopic never accepts a wildcard or otherwise invalid topic name', async (t) => {
  t.equal(matchTopic('reply/#', 'reply/#'), null);
  t.equal(matchTopic('reply/#', 'reply/+'), null);
  t.equal(matchTopic('#', ''), null);
  t.equal(matchTopic('#', 'a\u0000b'), null);
});

t.test('validatePublishTopic', async (t) => {
  t.equal(validatePublishTopic('atm/T42/decision'), null);
  t.equal(validatePublishTopic('/leading/slash'), null);
  t.equal(validatePublishTopic('caf\u00e9'), null);
  t.match(validatePublishTopic(''), /empty/);
  t.match(validatePublishTopic('a/+/b'), /wildcard/);
  t.match(validatePublishTopic('a/#'), /wildcard/);
  t.match(validatePublishTopic('a+b'), /wildcard/, 'wildcard characters anywhere, not only whole levels');
  t.match(validatePublishTopic('a\u0000b'), /NUL/);
  t.match(validatePublishTopic('$SYS/x'), /\$/);
  t.match(validatePublishTopic('a\u0001'), /control/);
  t.match(validatePublishTopic('a\u001f'), /control/);
  t.match(validatePublishTopic('a\u007f'), /control/);
  t.match(validatePublishTopic('a\u0085'), /control/);
  t.match(validatePublishTopic('a\u009f'), /control/);
  t.equal(validatePublishTopic('a\u00a0'), null, 'U+00A0 is not a control character');
  t.match(validatePublishTopic('a\udc00'), /UTF-8/);
  t.equal(validatePublishTopic('x'.repeat(MAX_TOPIC_BYTES)), null);
  t.match(validatePublishTopic('x'.repeat(MAX_TOPIC_BYTES + 1)), /65535/);
  t.match(validatePublishTopic(42 as unknown as string), /string/);
});

t.test('templateMaxCapture', async (t) => {
  t.equal(templateMaxCapture('atm/{1}/decision'), 1);
  t.equal(templateMaxCapture('plant/{1}/{2}/verdict'), 2);
  t.equal(templateMaxCapture('x/{2}/{1}'), 2);
  t.equal(templateMaxCapture('fixed/topic'), 0);
  t.equal(templateMaxCapture('{10}'), 10);
});

t.test('renderTopicTemplate fills 1-based captures', async (t) => {
  t.equal(renderTopicTemplate('atm/{1}/decision', ['T42']), 'atm/T42/decision');
  t.equal(renderTopicTemplate('plant/{1}/{2}/verdict', ['l1', 's7']), 'plant/l1/s7/verdict');
  t.equal(renderTopicTemplate('{2}-{1}', ['a', 'b']), 'b-a');
  t.equal(renderTopicTemplate('fixed', []), 'fixed');
  t.equal(renderTopicTemplate('out/{1}', ['caf\u00e9']), 'out/caf\u00e9');
});

t.test('renderTopicTemplate refuses captures that would change the topic shape', async (t) => {
  const bad: [string, RegExp][] = [
    ['a/b', /capture \{1\} contains '\/'/],
    ['+', /capture \{1\} contains an MQTT wildcard/],
    ['#', /capture \{1\} contains an MQTT wildcard/],
    ['x+y', /capture \{1\} contains an MQTT wildcard/],
    ['a\u0000', /capture \{1\} contains NUL/],
    ['a\u0001', /capture \{1\} contains control/],
    ['a\u0085', /capture \{1\} contains control/],
    ['\ud800', /capture \{1\} is not valid UTF-8/],
  ];
  for (const [capture, message] of bad) {
    const error = thrown(() => renderTopicTemplate('atm/{1}/decision', [capture]));
    t.ok(error instanceof TopicError, `${JSON.stringify(capture)}: TopicError`);
    t.match(error, { code: ErrorCodes.TOPIC_INVALID, message }, JSON.stringify(capture));
  }
  t.throws(() => renderTopicTemplate('x/{2}', ['ok', 'a/b']), {
    code: ErrorCodes.TOPIC_INVALID,
    message: /\{2\}/,
  });
  t.throws(() => renderTopicTemplate('x/{2}', ['only-one']), { code: ErrorCodes.TOPIC_INVALID });
  t.throws(() => renderTopicTemplate('x/{0}', ['a']), { code: ErrorCodes.TOPIC_INVALID });
  t.throws(() => renderTopicTemplate('{1}/x', ['$SYS']), { code: ErrorCodes.TOPIC_INVALID, message: /\$/ });
  t.throws(() => renderTopicTemplate('{1}', ['']), { code: ErrorCodes.TOPIC_INVALID, message: /empty/ });
  const error = thrown(() => renderTopicTemplate('x/{1}', ['card-4111111111111111/x']));
  t.ok(error instanceof TopicError);
  t.notMatch((error as Error).message, /4111/, 'the captured text is not echoed');
});

t.test('validateTopicTemplate', async (t) => {
  t.equal(validateTopicTemplate('atm/{1}/decision', 1), null);
  t.equal(validateTopicTemplate('fixed/out', 0), null);
  t.match(validateTopicTemplate('atm/{2}/decision', 1), /only 1 wildcard/);
  t.match(validateTopicTemplate('atm/{0}', 3), /1-based/);
  t.match(validateTopicTemplate('atm/+/{1}', 1), /wildcard/);
  t.match(validateTopicTemplate('$SYS/{1}', 1), /\$/);
  t.match(validateTopicTemplate('', 0), /empty/);
});

t.test('filtersOverlap and templateAsFilter', async (t) => {
  t.ok(filtersOverlap('atm/+/tx', 'atm/T1/tx'));
  t.ok(filtersOverlap('atm/#', 'atm/+/decision'));
  t.ok(filtersOverlap('#', 'a'));
  t.ok(filtersOverlap('a/#', 'a'));
  t.ok(filtersOverlap('$share/g/atm/+/tx', 'atm/+/tx'));
  t.notOk(filtersOverlap('atm/+/tx', 'atm/+/decision'));
  t.notOk(filtersOverlap('a/+', 'a'));
  t.notOk(filtersOverlap('a/b', 'a/b/c'));
  t.notOk(filtersOverlap('#', '$SYS/x'));
  t.notOk(filtersOverlap('+/x', '$SYS/x'));
  t.equal(templateAsFilter('atm/{1}/decision'), 'atm/+/decision');
  t.equal(templateAsFilter('out/{1}-{2}/x'), 'out/+/x');
});
