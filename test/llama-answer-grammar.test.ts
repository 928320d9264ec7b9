import t from 'tap';
import { answerGrammar, completeAnswer, validateAnswer } from '../adapters/llama/answer-grammar.js';
import { ErrorCodes } from '../daemon/errors.js';

t.test('the grammar: one fixed JSON layout, the labels, a bounded printable reason', async (t) => {
  const grammar = answerGrammar(['accept', 'say "no"', 'back\\slash'], 20);
  t.match(grammar, /^root ::= "\{\\"decision\\": \\"" decision "\\", \\"reason\\": \\"" reason "\\"\}"$/m);
  t.match(
    grammar,
    /^decision ::= "accept" \| "say \\\\\\"no\\\\\\"" \| "back\\\\\\\\slash"$/m,
    'labels JSON- then GBNF-escaped',
  );
  t.match(
    grammar,
    /^reason ::= \[\\x20-\\x21\\x23-\\x3B\\x3D-\\x5B\\x5D-\\x7E\]\{0,20\}$/m,
    'no quote, backslash or <',
  );
});

t.test('answers: complete only when the object closes; checked against the schema', async (t) => {
  t.equal(completeAnswer('{"decision": "accept", "reason": "fine'), null);
  t.equal(
    completeAnswer('{"decision": "accept", "reason": "a}'),
    null,
    'a brace inside the reason is not the end',
  );
  const done = completeAnswer('{"decision": "accept", "reason": "low amount"}');
  t.same(validateAnswer(done, ['accept', 'review'], 20), { decision: 'accept', reason: 'low amount' });
  const refused = [
    [{ decision: 'maybe', reason: '' }, /decision is not a label/],
    [{ decision: 'accept', reason: 'x'.repeat(21) }, /too long/],
    [{ decision: 'accept', reason: '<think>' }, /excludes/],
    [{ decision: 'accept' }, /keys/],
    [['accept'], /not an object/],
  ] as const;
  for (const [value, message] of refused) {
    t.throws(() => validateAnswer(value, ['accept', 'review'], 20), { code: ErrorCodes.MODEL_RUN, message });
  }
});
