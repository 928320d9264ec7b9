/**
 * Lets writers wait, without blocking the event loop, while something needs the state database to take no
 * new writes for a moment (a WAL restart, see WalRestarter). Waiters resume in the order they came.
 */
export class WriteGate {
  private held = false;
  private waiters: (() => void)[] = [];

  get open(): boolean {
    return !this.held;
  }

  wait(): Promise<void> {
    if (!this.held) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resume of waiters) resume();
  }
}
