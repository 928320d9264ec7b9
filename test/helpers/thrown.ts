/**
 * What a call threw, for tests that assert on an error's class, code or fields rather than only that it
 * throws (`t.throws` does not hand the value back).
 */

/** What `fn` threw, or undefined when it returned. */
export function thrown(fn: () => unknown): unknown;
/** What `fn` threw, which must be a `type`: anything else, or nothing, is an error that fails the test. */
export function thrown<E>(fn: () => unknown, type: abstract new (...args: never[]) => E): E;
export function thrown<E>(fn: () => unknown, type?: abstract new (...args: never[]) => E): unknown {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  if (type !== undefined && !(error instanceof type)) {
    throw new Error(`expected ${type.name}, got ${String(error)}`);
  }
  return error;
}
