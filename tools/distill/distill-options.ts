/** The options of `infergate distill`, apart from the command so the CLI parses them without loading it. */
export const DISTILL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  pipeline: { type: 'string' },
  teacher: { type: 'string' },
  events: { type: 'string' },
  'from-state': { type: 'boolean' },
  out: { type: 'string' },
  holdout: { type: 'string' },
  bits: { type: 'string' },
  limit: { type: 'string' },
  seed: { type: 'string' },
  hidden: { type: 'string' },
  epochs: { type: 'string' },
  batch: { type: 'string' },
  'write-config': { type: 'boolean' },
} as const;
