/** A promise with its settle functions, for a wait that another handler ends. */
export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejected first connect nobody awaits any more must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** An error as a log field: its code (an errno string or an MQTT reason code) and message. */
export function describeError(error: unknown): { code?: string | number; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: string | number }).code;
    return code === undefined ? { message: error.message } : { code, message: error.message };
  }
  return { message: String(error) };
}
