import { watch, type FSWatcher } from 'node:fs';

/**
 * Calls `onWrite` once, at the first change to `file`. It is an inotify watch on Linux: until the file is
 * written, nothing runs and nothing wakes. Returns a function that cancels the watch, or undefined when the
 * file cannot be watched (missing, no watch available): the caller then acts as if it had been written.
 */
export function whenWritten(file: string, onWrite: () => void): (() => void) | undefined {
  let watcher: FSWatcher | undefined;
  let settled = false;
  const settle = (written: boolean): void => {
    if (settled) return;
    settled = true;
    watcher?.close();
    if (written) onWrite();
  };
  try {
    // Not persistent: a watch alone must not keep the process alive.
    watcher = watch(file, { persistent: false }, () => settle(true));
  } catch {
    return undefined;
  }
  // A watch that fails may have missed a write: better a checkpoint thread for nothing than none.
  watcher.on('error', () => settle(true));
  return () => settle(false);
}
