/**
 * Checks on single config values, shared by the convict formats (fixed sections) and the model/pipeline
 * validators, so one kind of mistake reads the same wherever it is made. Each returns a message or null.
 */

// Same reasoning as for topics: these characters only ever appear in a config by accident or abuse.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export function integerProblem(value: unknown, min: number, max: number): string | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return null;
  return `must be an integer between ${min} and ${max}`;
}

export function numberProblem(value: unknown, min: number, max: number): string | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return null;
  return `must be a number between ${min} and ${max}`;
}

export function booleanProblem(value: unknown): string | null {
  return typeof value === 'boolean' ? null : 'must be true or false';
}

export function oneOfProblem(value: unknown, values: readonly unknown[]): string | null {
  if (values.includes(value)) return null;
  const shown = values.map((v) => String(v));
  if (shown.length === 2) return `must be ${shown[0]} or ${shown[1]}`;
  return `must be one of: ${shown.join(', ')}`;
}

/** A non-empty single-line string of at most `maxLength` characters. */
export function textProblem(value: unknown, maxLength: number): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > maxLength) return `must be at most ${maxLength} characters`;
  if (CONTROL_CHARACTER.test(value)) return 'must not contain control characters';
  return null;
}

/** `textProblem` plus a pattern, described to the user as `hint`. */
export function patternProblem(
  value: unknown,
  pattern: RegExp,
  hint: string,
  maxLength: number,
): string | null {
  const text = textProblem(value, maxLength);
  if (text !== null) return text;
  return pattern.test(value as string) ? null : `must match ${hint}`;
}

/** A file system path: not empty, no NUL (which would truncate it in the syscall). */
export function pathProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a path (string)';
  if (value.length === 0) return 'must not be empty';
  if (value.includes('\u0000')) return 'must not contain NUL';
  if (value.length > 4096) return 'must be at most 4096 characters';
  return null;
}

const MQTT_SCHEMES = ['mqtt', 'mqtts', 'unix'];

/** Never echoes the URL: it may carry credentials the user did not mean to print. */
export function mqttUrlProblem(value: unknown): string | null {
  const example = 'mqtt://127.0.0.1:1883 or unix:///run/mosquitto/mqtt.sock';
  if (typeof value !== 'string' || value.length === 0) return `must be a URL such as ${example}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be a URL such as ${example}`;
  }
  const scheme = url.protocol.slice(0, -1);
  if (!MQTT_SCHEMES.includes(scheme)) return `scheme must be one of: ${MQTT_SCHEMES.join(', ')}`;
  if (url.username !== '' || url.password !== '') {
    return 'must not contain credentials; use mqtt.username and mqtt.passwordFile';
  }
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  if (scheme === 'unix') {
    if (url.host !== '' || url.pathname.length <= 1) {
      return 'a Unix socket URL must be unix:///absolute/path/to/socket';
    }
    return null;
  }
  if (url.hostname === '') return 'must name a host';
  if (url.pathname !== '' && url.pathname !== '/') return 'must not have a path';
  return null;
}
