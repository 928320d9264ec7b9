/**
 * The context's sequences, handed out one per run. The scheduler keeps runs in flight at or below the
 * number of sequences, so a run normally finds one free; otherwise it waits its turn (first come, first
 * served) rather than failing.
 */
export class SequencePool<T> {
  private readonly waiting: { resolve: (slot: T) => void; reject: (error: Error) => void }[] = [];
  private closedWith: Error | null = null;

  constructor(private readonly free: T[]) {}

  acquire(): Promise<T> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(slot: T): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.resolve(slot);
    else this.free.push(slot);
  }

  /** Refuses every waiting and later `acquire` with `error`. */
  close(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
