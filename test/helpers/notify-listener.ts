/**
 * Plays systemd's side of sd_notify: a Unix datagram socket the daemon is pointed at with NOTIFY_SOCKET,
 * recording every message with the time it arrived.
 */
import { join } from 'node:path';
import { DgramSocket } from 'node-unix-socket';

export interface Notification {
  /** Date.now() on arrival, ms. */
  at: number;
  fields: Record<string, string>;
  raw: string;
}

export interface NotifyListener {
  /** The value for NOTIFY_SOCKET. */
  readonly address: string;
  readonly messages: Notification[];
  /** Messages carrying `key` (e.g. READY, WATCHDOG, STOPPING). */
  with(key: string): Notification[];
  waitFor(key: string, timeoutMs?: number): Promise<Notification>;
  close(): void;
}

export function listenForNotifications(
  t: { teardown(fn: () => void): void },
  dir: string,
  options: { abstract?: boolean } = {},
): NotifyListener {
  const name = `notify-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  const bindPath = options.abstract === true ? `\0${name}` : join(dir, `${name}.sock`);
  const address = options.abstract === true ? `@${name}` : bindPath;
  const socket = new DgramSocket();
  socket.bind(bindPath);
  const messages: Notification[] = [];
  const waiters = new Set<() => void>();
  socket.on('data', (buffer: Buffer) => {
    const raw = buffer.toString('utf8');
    const fields: Record<string, string> = {};
    for (const line of raw.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
    }
    messages.push({ at: Date.now(), fields, raw });
    for (const wake of waiters) wake();
  });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    socket.close();
  };
  t.teardown(close);
  const withKey = (key: string) => messages.filter((m) => Object.hasOwn(m.fields, key));
  return {
    address,
    messages,
    with: withKey,
    waitFor(key, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = withKey(key)[0];
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no ${key}= within ${timeoutMs} ms; got: ${JSON.stringify(messages.map((m) => m.raw))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
  };
}
