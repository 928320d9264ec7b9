/** How the JSON decoder names a field and a value in its messages (which go to logs and dead letters). */

/** Keys longer than this are cut in error messages. */
const MAX_KEY_IN_MESSAGE = 64;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `velocity.count10m`, `items[2].amount`, `["odd key"]`: the path of level 1..level. */
export function formatPath(path: readonly (string | number)[], level: number): string {
  let out = '';
  for (let i = 1; i <= level; i++) {
    const segment = path[i];
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment) && segment.length <= MAX_KEY_IN_MESSAGE)
      out += out === '' ? segment : `.${segment}`;
    else out += `[${quoteKey(segment)}]`;
  }
  return out;
}

export function quoteKey(key: string): string {
  const cut = key.length > MAX_KEY_IN_MESSAGE ? `${key.slice(0, MAX_KEY_IN_MESSAGE)}…` : key;
  return JSON.stringify(cut);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
