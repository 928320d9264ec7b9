/**
 * MQTT topic names, topic filters and output topic templates (MQTT 3.1.1 §4.7, MQTT 5.0 §4.7–4.8).
 *
 * The validators return a reason (string) or null instead of throwing, so config validation can list every
 * problem at once; the core turns a reason into a TopicError where it must refuse to publish.
 */
import { ErrorCodes, TopicError } from './errors.js';

/** A topic name or filter is a UTF-8 string of at most 65535 bytes [MQTT-4.7.3-3]. */
export const MAX_TOPIC_BYTES = 65535;

const SHARE_PREFIX = '$share';

// U+0001..U+001F and U+007F..U+009F: legal in MQTT strings only as a SHOULD NOT (§1.5.3), and no device
// names its topics with them, so their presence means abuse or corruption.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0001-\u001f\u007f-\u009f]/;

// A lone surrogate cannot be encoded as UTF-8 [MQTT-1.5.3-1]; Buffer.byteLength would silently count it
// as U+FFFD, which the broker would then see as a different topic.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const TEMPLATE_PLACEHOLDER = /\{(\d+)\}/g;

/** What every MQTT string used as a topic must satisfy; null when it does. */
function stringProblem(value: unknown, what: string): string | null {
  if (typeof value !== 'string') return `${what} must be a string`;
  if (value.length === 0) return `${what} must not be empty [MQTT-4.7.3-1]`;
  if (value.includes('\u0000')) return `${what} must not contain NUL (U+0000) [MQTT-4.7.3-2]`;
  if (CONTROL_CHARACTER.test(value)) return `${what} must not contain control characters`;
  if (LONE_SURROGATE.test(value)) return `${what} must be valid UTF-8 [MQTT-1.5.3-1]`;
  if (Buffer.byteLength(value, 'utf8') > MAX_TOPIC_BYTES) {
    return `${what} must not be longer than ${MAX_TOPIC_BYTES} bytes of UTF-8 [MQTT-4.7.3-3]`;
  }
  return null;
}

/** Wildcard rules for a filter that is not (or no longer) a shared subscription. */
function plainFilterProblem(filter: string): string | null {
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#')) {
      if (level !== '#') return `'#' must occupy a whole topic level [MQTT-4.7.1-2]`;
      if (i !== levels.length - 1) return `'#' must be the last topic level [MQTT-4.7.1-2]`;
    }
    if (level.includes('+') && level !== '+') return `'+' must occupy a whole topic level [MQTT-4.7.1-3]`;
  }
  return null;
}

/**
 * Splits `$share/<group>/<filter>` [MQTT 5 §4.8.2]. Returns null when the filter's first level is not
 * `$share`; a `$share` filter without a group or inner filter comes back with empty parts so callers
 * can report it.
 */
function splitShared(filter: string): { group: string; inner: string } | null {
  if (filter !== SHARE_PREFIX && !filter.startsWith(`${SHARE_PREFIX}/`)) return null;
  const rest = filter.slice(SHARE_PREFIX.length + 1);
  const slash = rest.indexOf('/');
  if (slash < 0) return { group: rest, inner: '' };
  return { group: rest.slice(0, slash), inner: rest.slice(slash + 1) };
}

/**
 * Null when `filter` is a valid subscription filter, else why not. Accepts MQTT 5 shared subscriptions
 * (`$share/<group>/<filter>`). Control characters are refused although the spec only discourages them:
 * a filter is config, and one containing them is a mistake.
 */
export function validateSubscriptionFilter(filter: string): string | null {
  const basic = stringProblem(filter, 'topic filter');
  if (basic !== null) return basic;
  const shared = splitShared(filter);
  if (shared === null) return plainFilterProblem(filter);
  if (shared.group.length === 0) {
    return `shared subscription needs a group name: $share/<group>/<filter> [MQTT-4.8.2-2]`;
  }
  if (/[+#]/.test(shared.group)) {
    return `shared subscription group name must not contain '+' or '#' [MQTT-4.8.2-1]`;
  }
  if (shared.inner.length === 0) {
    return `shared subscription needs a topic filter after the group: $share/<group>/<filter> [MQTT-4.8.2-1]`;
  }
  return plainFilterProblem(shared.inner);
}

/** The filter the broker matches topics against: `$share/<group>/a/+` → `a/+`; other filters unchanged. */
export function stripSharePrefix(filter: string): string {
  const shared = splitShared(filter);
  return shared === null || shared.inner.length === 0 ? filter : shared.inner;
}

/** Number of `+` and `#` levels, i.e. the captures `matchTopic` returns and a template may use. */
export function wildcardCount(filter: string): number {
  return stripSharePrefix(filter)
    .split('/')
    .filter((level) => level === '+' || level === '#').length;
}

/**
 * Matches a topic name against a filter. Returns the levels captured by the wildcards, in order — `#`
 * captures the remaining levels joined with `/`, or `''` when it matches the parent level (`a/#` matches
 * `a` [MQTT 3.1.1 §4.7.1.2]) — or null when the topic does not match.
 *
 * A topic that is not a valid topic name (contains `+`, `#` or NUL, or is empty) matches nothing: this
 * function guards allow-lists, and a wildcard must never pass as an allowed destination.
 */
export function matchTopic(filter: string, topic: string): string[] | null {
  if (typeof topic !== 'string' || topic.length === 0 || /[+#]/.test(topic) || topic.includes('\u0000')) {
    return null;
  }
  const filterLevels = stripSharePrefix(filter).split('/');
  const topicLevels = topic.split('/');
  // Wildcards at the first level do not match topics starting with `$` [MQTT-4.7.2-1].
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return null;
  const captures: string[] = [];
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    if (level === '#') {
      captures.push(topicLevels.slice(i).join('/'));
      return captures;
    }
    if (i >= topicLevels.length) return null;
    if (level === '+') captures.push(topicLevels[i]!);
    else if (level !== topicLevels[i]) return null;
  }
  return filterLevels.length === topicLevels.length ? captures : null;
}

/**
 * True when some topic name could match both filters; shared-subscription prefixes are ignored. Used to
 * refuse configs where the gateway would receive its own output.
 */
export function filtersOverlap(a: string, b: string): boolean {
  const left = stripSharePrefix(a).split('/');
  const right = stripSharePrefix(b).split('/');
  const dollarLiteral = (level: string): boolean => level.startsWith('$');
  const wildcard = (level: string): boolean => level === '+' || level === '#';
  if ((wildcard(left[0]!) && dollarLiteral(right[0]!)) || (wildcard(right[0]!) && dollarLiteral(left[0]!))) {
    return false;
  }
  for (let i = 0; ; i++) {
    const l = left[i];
    const r = right[i];
    if (l === '#' || r === '#') return true;
    if (l === undefined || r === undefined) return l === r;
    if (l !== '+' && r !== '+' && l !== r) return false;
  }
}

/** Null when `topic` may be published to, else why not. Stricter than the spec where abuse is the only use. */
export function validatePublishTopic(topic: string): string | null {
  const basic = stringProblem(topic, 'topic');
  if (basic !== null) return basic;
  if (/[+#]/.test(topic)) return `topic must not contain the wildcards '+' or '#' [MQTT-3.3.2-2]`;
  // `$` topics belong to the broker (`$SYS`, `$share`); clients must not publish there [MQTT-4.7.2-1].
  if (topic.startsWith('$')) return `topic must not start with '$' (reserved for the broker)`;
  return null;
}

/** Highest `{n}` placeholder a template uses; 0 when it uses none. */
export function templateMaxCapture(template: string): number {
  let max = 0;
  for (const match of template.matchAll(TEMPLATE_PLACEHOLDER)) max = Math.max(max, Number(match[1]));
  return max;
}

/** Why a capture must not go into a topic, or null. Each capture fills exactly one topic level. */
function captureProblem(capture: string): string | null {
  if (capture.includes('/')) return `contains '/' and would add topic levels`;
  if (/[+#]/.test(capture)) return `contains an MQTT wildcard ('+' or '#')`;
  if (capture.includes('\u0000')) return `contains NUL (U+0000)`;
  if (CONTROL_CHARACTER.test(capture)) return `contains control characters`;
  if (LONE_SURROGATE.test(capture)) return `is not valid UTF-8`;
  return null;
}

/**
 * Fills `{1}`, `{2}`… (1-based) with `captures` and returns a publishable topic, or throws TopicError
 * IG_ERR_TOPIC_INVALID. A capture comes from a topic someone else published to, so it is refused rather
 * than escaped when it could change the shape of the output topic; the error names the placeholder, never
 * the captured text.
 */
export function renderTopicTemplate(template: string, captures: readonly string[]): string {
  const topic = template.replace(TEMPLATE_PLACEHOLDER, (_whole, digits: string) => {
    const index = Number(digits);
    if (index < 1 || index > captures.length) {
      throw new TopicError(
        ErrorCodes.TOPIC_INVALID,
        `topic template uses {${digits}} but only ${captures.length} capture(s) are available`,
      );
    }
    const capture = captures[index - 1]!;
    const problem = captureProblem(capture);
    if (problem !== null) {
      throw new TopicError(ErrorCodes.TOPIC_INVALID, `capture {${index}} ${problem}`);
    }
    return capture;
  });
  const problem = validatePublishTopic(topic);
  if (problem !== null) throw new TopicError(ErrorCodes.TOPIC_INVALID, `rendered ${problem}`);
  return topic;
}

/**
 * Null when `template` can render a publishable topic from the captures of a filter with `captureCount`
 * wildcards, else why not. Placeholders are checked with a neutral stand-in capture; the real captures are
 * checked again by `renderTopicTemplate` for every event.
 */
export function validateTopicTemplate(template: string, captureCount: number): string | null {
  if (typeof template !== 'string') return 'topic template must be a string';
  for (const match of template.matchAll(TEMPLATE_PLACEHOLDER)) {
    const index = Number(match[1]);
    if (index < 1) return `placeholders are 1-based: {${match[1]}} is not allowed`;
    if (index > captureCount) {
      return `uses {${index}} but the subscription has only ${captureCount} wildcard(s)`;
    }
  }
  return validatePublishTopic(template.replace(TEMPLATE_PLACEHOLDER, 'x'));
}

/**
 * The filter matching every topic `template` can render: a level holding a placeholder becomes `+`.
 * Over-approximates (`{1}-in` becomes `+`), which suits its use: detecting output the gateway would
 * receive again.
 */
export function templateAsFilter(template: string): string {
  return template
    .split('/')
    .map((level) => (new RegExp(TEMPLATE_PLACEHOLDER.source).test(level) ? '+' : level))
    .join('/');
}
