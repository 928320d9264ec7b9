/**
 * Polls `condition` until it holds (true) or `timeoutMs` passed (false). Real time on purpose: it bounds
 * shutdown and model release, which no test steers.
 */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
