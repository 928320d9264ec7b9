import { ConfigError } from '../../daemon/errors.js';

export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * The problems a config load reports: those of the ConfigError `load` throws, none when it loads. Any other
 * error is rethrown, so a read failure is never mistaken for a clean config.
 */
export function configProblems(load: () => unknown): ConfigProblem[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}
