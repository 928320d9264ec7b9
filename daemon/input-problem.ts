import { ErrorCodes, InputError, isInfergateError, TopicError } from './errors.js';

/**
 * Normalises anything thrown while reading an event into the error its `invalid_input` answer carries.
 * A fault that is not an input error (a decoder bug) still becomes an answer: an event is never left
 * unacknowledged or unanswered because of its content.
 */
export function inputProblem(error: unknown): InputError | TopicError {
  if (error instanceof InputError || error instanceof TopicError) return error;
  const message = isInfergateError(error) ? error.message : 'the event could not be decoded';
  return new InputError(ErrorCodes.INPUT_FIELD_INVALID, message, undefined, { cause: error });
}
