/**
 * Exit codes and error printing shared by the tool commands (quantize, eval), in sysexits(3) terms:
 * 64 usage, 65 a model or data file the tool refuses (EX_DATAERR), 66 an input it cannot read
 * (EX_NOINPUT), 73 an output it cannot write (EX_CANTCREAT). Unexpected errors are rethrown: the CLI
 * reports them as internal errors (70).
 */
import { ErrorCodes, isInfergateError } from '../../daemon/errors.js';

export const ToolExit = { OK: 0, USAGE: 64, DATA: 65, NO_INPUT: 66, CANT_CREATE: 73 } as const;

export class ToolUsageError extends Error {}

export function toolExitCode(error: unknown, usage: string): number {
  if (error instanceof ToolUsageError) {
    process.stderr.write(`infergate: ${error.message}\nusage: ${usage}\n`);
    return ToolExit.USAGE;
  }
  if (!isInfergateError(error)) throw error;
  process.stderr.write(`infergate: ${error.code}: ${error.message}\n`);
  switch (error.code) {
    case ErrorCodes.TOOL_INPUT:
    case ErrorCodes.MODEL_NOT_FOUND:
      return ToolExit.NO_INPUT;
    case ErrorCodes.TOOL_OUTPUT:
      return ToolExit.CANT_CREATE;
    default:
      return ToolExit.DATA;
  }
}

/** A non-negative integer option value, or a usage error naming the option. */
export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new ToolUsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  }
  return Number(text);
}
