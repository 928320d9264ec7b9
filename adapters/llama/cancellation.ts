import { ErrorCodes, ModelError } from '../../daemon/errors.js';

/**
 * Throws when `signal` has fired: with its reason when that is a ModelError (the model is closing), else
 * IG_ERR_MODEL_CANCELLED (the scheduler gave up on the run: every event of it was already answered).
 */
export function throwIfCancelled(signal: AbortSignal): void {
  if (!signal.aborted) return;
  if (signal.reason instanceof ModelError) throw signal.reason;
  throw new ModelError(ErrorCodes.MODEL_CANCELLED, 'cancelled: the events of this run were already answered');
}
