import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createJsonDecoder, MAX_SUPPORTED_DEPTH } from '../adapters/decoders/json-decoder.js';
import type { InputLimits } from '../daemon/config.js';
import { ConfigError, ErrorCodes, InputError, type ErrorCode } from '../daemon/errors.js';
import { thrown } from './helpers/thrown.js';

/** The shipped defaults (config/schema.ts); the fixture corpus is written against them. */
const DEFAULT_LIMITS: InputLimits = { maxPayloadBytes: 65536, maxDepth: 32 };

const FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/malformed/', import.meta.url));

const inputError = (fn: () => unknown): InputError => thrown(fn, InputError);

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function padTo(size: number): Buffer {
  const head = '{"id":"tx-1","pad":"';
  const tail = '"}';
  return utf8(head + 'x'.repeat(size - head.length - tail.length) + tail);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

interface Malformed {
  file: string;
  payload: Buffer;
  code: ErrorCode;
  /** InputError.field, when the code names one. */
  field?: string;
  what: string;
}

/**
 * Each payload is also a file in test/fixtures/malformed/, so fault tests can fire the same corpus at a
 * running gateway. `IG_WRITE_FIXTURES=1` rewrites the directory from this table.
 */
const MALFORMED: Malformed[] = [
  {
    file: 'too-large-64KiB-plus-1.bin',
    payload: padTo(65537),
    code: ErrorCodes.INPUT_TOO_LARGE,
    what: 'valid JSON object one byte over the default maxPayloadBytes (65536)',
  },
  {
    file: 'too-large-invalid-utf8.bin',
    payload: Buffer.alloc(65537, 0xff),
    code: ErrorCodes.INPUT_TOO_LARGE,
    what: 'oversized and not UTF-8: size is checked before anything else',
  },
  { file: 'empty.bin', payload: Buffer.alloc(0), code: ErrorCodes.INPUT_EMPTY, what: 'zero bytes' },
  {
    file: 'utf8-lone-continuation-byte.bin',
    payload: bytes('{"id":"', [0x80], '"}'),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: 'a continuation byte with no lead byte',
  },
  {
    file: 'utf8-overlong-slash.bin',
    payload: bytes('{"id":"', [0xc0, 0xaf], '"}'),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: "overlong encoding of '/'",
  },
  {
    file: 'utf8-encoded-surrogate.bin',
    payload: bytes('{"id":"', [0xed, 0xa0, 0x80], '"}'),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: 'UTF-16 surrogate U+D800 encoded as UTF-8 (CESU-8)',
  },
  {
    file: 'utf8-truncated-sequence.bin',
    payload: bytes('{"id":"', [0xe2, 0x82], '"}'),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: 'three-byte sequence cut after two bytes',
  },
  {
    file: 'utf8-above-u10ffff.bin',
    payload: bytes('{"id":"', [0xf4, 0x90, 0x80, 0x80], '"}'),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: 'code point above U+10FFFF',
  },
  {
    file: 'latin1-text.bin',
    payload: bytes('{"id":"tx-1","merchant":"Caf', [0xe9], '"}'),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: 'ISO-8859-1 encoded text',
  },
  {
    file: 'utf16le-with-bom.bin',
    payload: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"id":"tx-1"}', 'utf16le')]),
    code: ErrorCodes.INPUT_NOT_UTF8,
    what: 'UTF-16LE document with its BOM',
  },
  {
    file: 'bom-only.bin',
    payload: Buffer.from([0xef, 0xbb, 0xbf]),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'a UTF-8 byte order mark and nothing else',
  },
  {
    file: 'whitespace-only.bin',
    payload: utf8(' \n\t\r  '),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'JSON whitespace and nothing else',
  },
  {
    file: 'double-bom.bin',
    payload: bytes([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], '{"id":"tx-1"}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'two byte order marks (only one is dropped)',
  },
  {
    file: 'nul-byte.bin',
    payload: bytes('{"id":"tx-1"}', [0x00]),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'NUL after the document',
  },
  {
    file: 'truncated-object.bin',
    payload: utf8('{"id":"tx-1","amount":12'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'object cut off before its closing brace',
  },
  {
    file: 'unterminated-string.bin',
    payload: utf8('{"id":"tx-1'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'string without its closing quote',
  },
  {
    file: 'trailing-comma.bin',
    payload: utf8('{"id":"tx-1","amount":12,}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'comma before the closing brace',
  },
  {
    file: 'single-quotes.bin',
    payload: utf8("{'id':'tx-1'}"),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'single-quoted strings',
  },
  {
    file: 'unquoted-key.bin',
    payload: utf8('{id:"tx-1"}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'unquoted key',
  },
  {
    file: 'nan-literal.bin',
    payload: utf8('{"id":"tx-1","amount":NaN}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'NaN is not a JSON value',
  },
  {
    file: 'infinity-literal.bin',
    payload: utf8('{"id":"tx-1","amount":-Infinity}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'Infinity is not a JSON value',
  },
  {
    file: 'leading-zero.bin',
    payload: utf8('{"id":"tx-1","amount":012}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'number with a leading zero',
  },
  {
    file: 'hex-number.bin',
    payload: utf8('{"id":"tx-1","amount":0x10}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'hexadecimal number',
  },
  {
    file: 'plus-sign-number.bin',
    payload: utf8('{"id":"tx-1","amount":+12}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'number with a plus sign',
  },
  {
    file: 'fraction-without-digits.bin',
    payload: utf8('{"id":"tx-1","amount":12.}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'decimal point without digits after it',
  },
  {
    file: 'comment.bin',
    payload: utf8('{"id":"tx-1" /* terminal 42 */}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'block comment',
  },
  {
    file: 'raw-tab-in-string.bin',
    payload: utf8('{"id":"tx\t1"}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'unescaped control character inside a string',
  },
  {
    file: 'invalid-escape.bin',
    payload: utf8('{"id":"tx\\x41"}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: '\\x is not a JSON escape',
  },
  {
    file: 'bad-unicode-escape.bin',
    payload: utf8('{"id":"tx\\u12G4"}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: '\\u escape with a non-hex digit',
  },
  {
    file: 'trailing-garbage.bin',
    payload: utf8('{"id":"tx-1"} x'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'data after the document',
  },
  {
    file: 'two-documents.bin',
    payload: utf8('{"id":"tx-1"}{"id":"tx-2"}'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'two concatenated documents',
  },
  {
    file: 'overflow-in-invalid-json.bin',
    payload: utf8('{"amount":1e400,'),
    code: ErrorCodes.INPUT_NOT_JSON,
    what: 'a field problem inside a document that is not JSON is reported as not JSON',
  },
  {
    file: 'deep-array-1001.bin',
    payload: utf8('['.repeat(1001) + ']'.repeat(1001)),
    code: ErrorCodes.INPUT_TOO_DEEP,
    what: 'arrays nested 1001 deep: beyond any allowed maxDepth (1 to 1000)',
  },
  {
    file: 'deep-object-33.bin',
    payload: utf8(nestedObjects(33)),
    code: ErrorCodes.INPUT_TOO_DEEP,
    what: 'objects nested 33 deep: one beyond the default maxDepth (32)',
  },
  {
    file: 'deep-unclosed-brackets.bin',
    payload: utf8('{"a":' + '['.repeat(20000)),
    code: ErrorCodes.INPUT_TOO_DEEP,
    what: '20000 unclosed brackets: depth is reported before the document is found incomplete',
  },
  {
    file: 'top-level-array.bin',
    payload: utf8('[{"id":"tx-1"}]'),
    code: ErrorCodes.INPUT_NOT_OBJECT,
    what: 'an array of events',
  },
  {
    file: 'top-level-string.bin',
    payload: utf8('"tx-1"'),
    code: ErrorCodes.INPUT_NOT_OBJECT,
    what: 'a bare string',
  },
  {
    file: 'top-level-number.bin',
    payload: utf8('42'),
    code: ErrorCodes.INPUT_NOT_OBJECT,
    what: 'a bare number',
  },
  {
    file: 'top-level-null.bin',
    payload: utf8('null'),
    code: ErrorCodes.INPUT_NOT_OBJECT,
    what: 'null',
  },
  {
    file: 'number-overflow-1e400.bin',
    payload: utf8('{"id":"tx-1","amount":1e400}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'amount',
    what: 'number that parses to Infinity',
  },
  {
    file: 'number-overflow-negative.bin',
    payload: utf8('{"id":"tx-1","amount":-1.8e308}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'amount',
    what: 'number that parses to -Infinity',
  },
  {
    file: 'number-overflow-nested.bin',
    payload: utf8('{"id":"tx-1","velocity":{"count10m":1,"sum24h":1e309}}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'velocity.sum24h',
    what: 'overflowing number inside a nested object',
  },
  {
    file: 'big-integer-id.bin',
    payload: utf8('{"id":12345678901234567890,"amount":12}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'id',
    what: 'integer id beyond 2^53: ids must be strings',
  },
  {
    file: 'big-integer-2pow53-plus-1.bin',
    payload: utf8('{"id":"tx-1","amount":9007199254740993}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'amount',
    what: '2^53 + 1, which would silently become 2^53',
  },
  {
    file: 'big-integer-negative.bin',
    payload: utf8('{"id":"tx-1","amount":-9007199254740992}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'amount',
    what: '-2^53, outside the safe integer range',
  },
  {
    file: 'big-integer-in-array.bin',
    payload: utf8('{"id":"tx-1","cards":[1,18446744073709551616]}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'cards[1]',
    what: 'unsafe integer inside an array',
  },
  {
    file: 'duplicate-key.bin',
    payload: utf8('{"id":"tx-1","amount":12,"amount":99999}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'amount',
    what: 'second amount would override the first under JSON.parse',
  },
  {
    file: 'duplicate-key-escaped.bin',
    payload: utf8('{"id":"tx-1","amount":12,"\\u0061mount":99999}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'amount',
    what: 'duplicate key spelled with a \\u escape',
  },
  {
    file: 'duplicate-key-nested.bin',
    payload: utf8('{"id":"tx-1","velocity":{"count10m":1,"count10m":0}}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'velocity.count10m',
    what: 'duplicate key inside a nested object',
  },
  {
    file: 'proto-key.bin',
    payload: utf8('{"id":"tx-1","__proto__":{"isAdmin":true}}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: '__proto__',
    what: 'prototype pollution through __proto__',
  },
  {
    file: 'proto-key-escaped.bin',
    payload: utf8('{"id":"tx-1","\\u005f_proto__":{"isAdmin":true}}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: '__proto__',
    what: '__proto__ spelled with a \\u escape',
  },
  {
    file: 'constructor-prototype-key.bin',
    payload: utf8('{"id":"tx-1","constructor":{"prototype":{"polluted":true}}}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'constructor',
    what: 'prototype pollution through constructor.prototype',
  },
  {
    file: 'prototype-key-nested.bin',
    payload: utf8('{"id":"tx-1","velocity":{"prototype":1}}'),
    code: ErrorCodes.INPUT_FIELD_INVALID,
    field: 'velocity.prototype',
    what: 'prototype key inside a nested object',
  },
];

function readme(): string {
  const rows = MALFORMED.map(
    (m) => `| \`${m.file}\` | \`${m.code}\` | ${m.field === undefined ? '' : `\`${m.field}\``} | ${m.what} |`,
  );
  return [
    '# Malformed payloads',
    '',
    'One file per payload, raw bytes exactly as published. All are `.bin` so that formatters and editors',
    'leave them alone, though many are text. Expected codes assume the shipped limits,',
    '`limits.maxPayloadBytes: 65536` and `limits.maxDepth: 32`; `deep-array-1001.bin` is too deep under any',
    'allowed maxDepth. Every file must be answered `invalid_input` with the listed error code (and field).',
    'Generated from the table in `test/json-decoder.test.ts` (`IG_WRITE_FIXTURES=1` rewrites it); that test',
    'fails when the files and the table disagree.',
    '',
    '| file | code | field | what |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const decode = createJsonDecoder({ limits: DEFAULT_LIMITS });

t.test('the malformed corpus: table, files and README agree', async (t) => {
  t.ok(MALFORMED.length >= 30, `${MALFORMED.length} payloads`);
  t.equal(new Set(MALFORMED.map((m) => m.file)).size, MALFORMED.length, 'file names are unique');
  if (process.env.IG_WRITE_FIXTURES === '1') {
    mkdirSync(FIXTURE_DIR, { recursive: true });
    for (const m of MALFORMED) writeFileSync(FIXTURE_DIR + m.file, m.payload);
    writeFileSync(FIXTURE_DIR + 'README.md', readme());
  }
  const onDisk = readdirSync(FIXTURE_DIR).filter((name) => name !== 'README.md');
  t.strictSame(onDisk.sort(), MALFORMED.map((m) => m.file).sort(), 'one file per payload, no strays');
  for (const m of MALFORMED) {
    t.ok(readFileSync(FIXTURE_DIR + m.file).equals(m.payload), `${m.file} holds the table's bytes`);
  }
  t.equal(readFileSync(FIXTURE_DIR + 'README.md', 'utf8'), readme(), 'README.md lists the table');
});

t.test('every malformed payload is rejected with its code', async (t) => {
  for (const m of MALFORMED) {
    const error = inputError(() => decode(readFileSync(FIXTURE_DIR + m.file)));
    t.equal(error.code, m.code, `${m.file}: ${m.what}`);
    t.equal(error.field, m.field, `${m.file}: field`);
    t.equal(error.retryable, false, `${m.file}: not retryable`);
  }
});

const atmEvent = {
  id: 'tx-7f3c2a91-5b8e-4d1a-9c0f-2e6b8a4d1c77',
  terminal: 'atm-0042',
  ts: '2025-11-28T10:31:12.345Z',
  amount: 250.5,
  currency: 'foreign_eea',
  hour: 14,
  weekday: 3,
  cardPresent: true,
  velocity: { count10m: 2, sum10m: 300.5, count24h: 5, sum24h: 820.75 },
  distanceKm: 3.2,
  pinTries: 1,
  cardHash: 'b1946ac92492d2347c6235b4d2611184a1b2c3d4e5f60718',
  channel: 'contact',
  tags: ['night', null, false, -0.5],
};

t.test('a valid event decodes to the expected object, with null prototypes', async (t) => {
  const event = decode(utf8(JSON.stringify(atmEvent)));
  t.same(event, atmEvent);
  t.equal(JSON.stringify(event), JSON.stringify(atmEvent), 'same keys, order and values');
  t.equal(Object.getPrototypeOf(event), null, 'top level has no prototype');
  t.equal(Object.getPrototypeOf(event.velocity), null, 'nested objects have no prototype');
  t.ok(Array.isArray(event.tags), 'arrays stay arrays');
});

t.test('the decoder keeps no state between events', async (t) => {
  t.equal(inputError(() => decode(utf8('{"a":1,"a":2}'))).code, ErrorCodes.INPUT_FIELD_INVALID);
  t.same(decode(utf8('{"a":1}')), { a: 1 }, 'a good event after a bad one');
  t.same(decode(utf8('{"a":2}')), { a: 2 }, 'the same key in the next event is no duplicate');
});

t.test('valid edge cases are accepted', async (t) => {
  const cases: [string, unknown][] = [
    ['{}', {}],
    [' \r\n\t{ "a" : 1 } \n', { a: 1 }],
    ['{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}', { s: '"\\/\b\f\n\r\té😀' }],
    ['{"s":"😀 ü 中"}', { s: '😀 ü 中' }],
    ['{"lone":"\\ud800"}', { lone: '\ud800' }],
    ['{"toString":1,"hasOwnProperty":2,"valueOf":3}', { toString: 1, hasOwnProperty: 2, valueOf: 3 }],
    ['{"a":{"x":1},"b":{"x":2}}', { a: { x: 1 }, b: { x: 2 } }],
    ['{"n":[0,-0,1.5e3,2E-2,1e-400,9007199254740991,-9007199254740991,1e21,0.1]}', null],
    ['{"f":12345678901234567890.5}', null],
    ['{"t":true,"f":false,"n":null,"e":[],"o":{}}', null],
    ['{"":1}', { '': 1 }],
    ['{"s":"[[[[{{{{\\"]]]"}', { s: '[[[[{{{{"]]]' }],
  ];
  for (const [text, expected] of cases) {
    const event = decode(utf8(text));
    t.same(event, expected ?? JSON.parse(text), text);
    t.equal(JSON.stringify(event), JSON.stringify(JSON.parse(text)), `${text} matches JSON.parse`);
  }
  t.ok(Object.is((decode(utf8('{"z":-0}')) as { z: number }).z, -0), '-0 stays -0');
  t.same(decode(bytes([0xef, 0xbb, 0xbf], '{"a":1}')), { a: 1 }, 'one leading BOM is dropped');
});

t.test('INPUT_TOO_LARGE: checked before anything else, at exactly the limit', async (t) => {
  const limited = createJsonDecoder({ limits: { maxPayloadBytes: 100, maxDepth: 4 } });
  t.same(limited(padTo(100)).id, 'tx-1', 'exactly maxPayloadBytes is accepted');
  const error = inputError(() => limited(padTo(101)));
  t.equal(error.code, ErrorCodes.INPUT_TOO_LARGE);
  t.match(error.message, /101 bytes.*100/);
  t.equal(inputError(() => limited(Buffer.alloc(101, 0xff))).code, ErrorCodes.INPUT_TOO_LARGE);
  t.equal(inputError(() => limited(utf8('['.repeat(101)))).code, ErrorCodes.INPUT_TOO_LARGE);
});

t.test('INPUT_EMPTY', async (t) => {
  const error = inputError(() => decode(Buffer.alloc(0)));
  t.equal(error.code, ErrorCodes.INPUT_EMPTY);
  t.equal(error.field, undefined);
});

t.test('INPUT_NOT_UTF8 keeps the TextDecoder error as cause', async (t) => {
  const error = inputError(() => decode(bytes('{"a":"', [0xff], '"}')));
  t.equal(error.code, ErrorCodes.INPUT_NOT_UTF8);
  t.ok(error.cause instanceof Error);
});

t.test('INPUT_NOT_JSON says where, never what', async (t) => {
  const secret = '4111111111111111';
  for (const text of [
    `{"pan" "${secret}"}`,
    `{"pan":"${secret}"} ${secret}`,
    `${secret}x`,
    `{"pan":"${secret}`,
    `{'${secret}':1}`,
  ]) {
    const error = inputError(() => decode(utf8(text)));
    t.equal(error.code, ErrorCodes.INPUT_NOT_JSON, text);
    t.match(error.message, /at position \d+/, 'has a position');
    t.notMatch(error.message, /4111|pan/, 'quotes nothing of the payload');
  }
  t.match(inputError(() => decode(utf8('{"a" 1}'))).message, /at position 5$/, 'JSON.parse would say 5 too');
  t.match(
    inputError(() => decode(bytes([0xef, 0xbb, 0xbf]))).message,
    /only whitespace or a byte order mark/,
  );
  t.match(inputError(() => decode(utf8('   '))).message, /at position 3/);
});

t.test('INPUT_TOO_DEEP: maxDepth is allowed, one more is not', async (t) => {
  const shallow = createJsonDecoder({ limits: { maxPayloadBytes: 65536, maxDepth: 3 } });
  t.same(shallow(utf8('{"a":{"b":[1]}}')), { a: { b: [1] } }, 'depth 3');
  t.same(
    shallow(utf8('{"s":"{{{{[[[[","t":"\\"[[[["}')),
    { s: '{{{{[[[[', t: '"[[[[' },
    'brackets in strings',
  );
  const error = inputError(() => shallow(utf8('{"a":{"b":[[1]]}}')));
  t.equal(error.code, ErrorCodes.INPUT_TOO_DEEP);
  t.match(error.message, /maxDepth \(3\)/);
  t.equal(inputError(() => shallow(utf8('[[[[]]]]'))).code, ErrorCodes.INPUT_TOO_DEEP, 'arrays count too');
  const deepest = createJsonDecoder({ limits: { maxPayloadBytes: 65536, maxDepth: MAX_SUPPORTED_DEPTH } });
  const text = nestedObjects(MAX_SUPPORTED_DEPTH);
  t.equal(JSON.stringify(deepest(utf8(text))), text, `the largest allowed maxDepth (${MAX_SUPPORTED_DEPTH})`);
});

t.test('a 10^6-deep document is rejected quickly, without a stack overflow', async (t) => {
  const big = createJsonDecoder({ limits: { maxPayloadBytes: 8 << 20, maxDepth: 32 } });
  const payloads = {
    'closed arrays': utf8('['.repeat(1e6) + ']'.repeat(1e6)),
    'unclosed arrays': utf8('['.repeat(1e6)),
    objects: utf8('{"a":'.repeat(1e6) + '1' + '}'.repeat(1e6)),
  };
  for (const [name, payload] of Object.entries(payloads)) {
    const started = performance.now();
    const error = inputError(() => big(payload));
    const ms = performance.now() - started;
    t.equal(error.code, ErrorCodes.INPUT_TOO_DEEP, name);
    // Nearly all of it is UTF-8 decoding of the multi-megabyte string; the parser stops at depth 33.
    t.ok(ms < 1000, `${name}: ${ms.toFixed(2)} ms`);
  }
});

t.test('INPUT_NOT_OBJECT comes after syntax, before field checks', async (t) => {
  const error = inputError(() => decode(utf8('[1e400]')));
  t.equal(error.code, ErrorCodes.INPUT_NOT_OBJECT);
  t.match(error.message, /got an array/);
  t.equal(inputError(() => decode(utf8('[1,'))).code, ErrorCodes.INPUT_NOT_JSON);
});

t.test('INPUT_FIELD_INVALID names the path and says why', async (t) => {
  const bigId = inputError(() => decode(utf8('{"id":9007199254740993}')));
  t.equal(bigId.field, 'id');
  t.match(bigId.message, /2\^53/);
  t.match(bigId.message, /as strings/, 'tells the sender to send ids as strings');
  t.notMatch(bigId.message, /9007199254740993/, 'does not quote the value');

  t.match(inputError(() => decode(utf8('{"a":{"b":1E400}}'))).message, /a\.b.*Infinity/);
  t.match(inputError(() => decode(utf8('{"amount":1,"amount":2}'))).message, /duplicate key "amount"/);
  t.match(inputError(() => decode(utf8('{"__proto__":1}'))).message, /prototype pollution/);
  t.equal(inputError(() => decode(utf8('{"a":[{"b":[0,1e999]}]}'))).field, 'a[0].b[1]');
  t.equal(inputError(() => decode(utf8('{"odd key":{"x":1,"x":2}}'))).field, '["odd key"].x');

  const first = inputError(() => decode(utf8('{"a":1e400,"a":2,"__proto__":3}')));
  t.match(first.message, /Infinity/, 'the first problem in document order wins');

  const exact = decode(utf8('{"a":9007199254740991,"b":-9007199254740991,"c":1e300,"d":1.5e15}'));
  t.same(exact, { a: 9007199254740991, b: -9007199254740991, c: 1e300, d: 1.5e15 }, 'safe values pass');
});

t.test('the result cannot be polluted and reads only own properties', async (t) => {
  const event = decode(utf8('{"a":{"b":1}}'));
  t.equal((event as Record<string, unknown>).toString, undefined, 'no inherited toString');
  t.equal('constructor' in event, false);
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype untouched');
});

t.test('invalid limits are a config error', async (t) => {
  for (const limits of [
    { maxPayloadBytes: 0, maxDepth: 32 },
    { maxPayloadBytes: 1.5, maxDepth: 32 },
    { maxPayloadBytes: 1024, maxDepth: 0 },
    { maxPayloadBytes: 1024, maxDepth: MAX_SUPPORTED_DEPTH + 1 },
  ]) {
    const error = thrown(() => createJsonDecoder({ limits }));
    t.ok(error instanceof ConfigError, JSON.stringify(limits));
    t.equal((error as ConfigError).code, ErrorCodes.CONFIG_INVALID);
  }
});

/** Small deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('numbers decode exactly as JSON.parse decodes them', async (t) => {
  const random = prng(53);
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
  let mismatches = 0;
  for (let i = 0; i < 100_000; i++) {
    const intDigits = 1 + Math.floor(random() * 17);
    let literal = (random() < 0.3 ? '-' : '') + String(1 + Math.floor(random() * 9)) + digits(intDigits - 1);
    if (random() < 0.2) literal = (literal.startsWith('-') ? '-' : '') + '0';
    const fraction = random() < 0.7 ? '.' + digits(1 + Math.floor(random() * 25)) : '';
    const exponent =
      random() < 0.1 ? 'e' + (random() < 0.5 ? '-' : '') + String(Math.floor(random() * 30)) : '';
    if (fraction === '' && exponent === '' && intDigits > 15) continue; // unsafe integers are refused
    const text = `{"n":${literal}${fraction}${exponent}}`;
    const ours = (decode(utf8(text)) as { n: number }).n;
    const theirs = (JSON.parse(text) as { n: number }).n;
    if (!Object.is(ours, theirs)) {
      mismatches++;
      if (mismatches < 5) t.fail(`${text}: ${ours} !== ${theirs}`);
    }
  }
  t.equal(mismatches, 0);
});

t.test('syntax agrees with JSON.parse on mutated documents', async (t) => {
  const random = prng(8259);
  const seeds = [
    JSON.stringify(atmEvent),
    '{"a":[1,2,{"b":"c\\n\\u0041"}],"d":{"e":null,"f":true,"g":-1.5e-3}}',
    '{"s":"x\\"y","t":[[],{}],"u":0}',
  ];
  const alphabet = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '\\',
    '0',
    '1',
    '-',
    '.',
    'e',
    '+',
    ' ',
    'u',
    'n',
    't',
    'x',
  ];
  let agreed = 0;
  let fieldInvalid = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = seeds[i % seeds.length];
    const edits = 1 + Math.floor(random() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * (text.length + 1));
      const op = random();
      const ch = alphabet[Math.floor(random() * alphabet.length)];
      if (op < 0.4) text = text.slice(0, at) + ch + text.slice(at);
      else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1);
      else text = text.slice(0, at) + ch + text.slice(at + 1);
    }
    let expected: unknown;
    let valid = true;
    try {
      expected = JSON.parse(text);
    } catch {
      valid = false;
    }
    const error = thrown(() => decode(utf8(text)));
    if (!valid) {
      if (error instanceof InputError && error.code === ErrorCodes.INPUT_NOT_JSON) agreed++;
      else t.fail(`JSON.parse rejects ${JSON.stringify(text)}, we said ${String(error)}`);
      continue;
    }
    const isObject = typeof expected === 'object' && expected !== null && !Array.isArray(expected);
    if (error === undefined) {
      if (isObject && JSON.stringify(decode(utf8(text))) === JSON.stringify(expected)) agreed++;
      else t.fail(`different value for ${JSON.stringify(text)}`);
    } else if (error instanceof InputError && error.code === ErrorCodes.INPUT_NOT_OBJECT && !isObject) {
      agreed++;
    } else if (error instanceof InputError && error.code === ErrorCodes.INPUT_FIELD_INVALID && isObject) {
      fieldInvalid++;
      agreed++;
    } else {
      t.fail(`JSON.parse accepts ${JSON.stringify(text)}, we said ${String(error)}`);
    }
  }
  t.equal(agreed, 20_000, `all agree (${fieldInvalid} valid JSON refused for a field problem)`);
});
