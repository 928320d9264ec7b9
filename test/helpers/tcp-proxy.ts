/**
 * A TCP proxy in front of one endpoint, so a test can break a single client's link to the broker while
 * every other client stays connected to the broker directly.
 *
 * - `pause()` / `resume()`: a stalled link. Nothing is read on either side; bytes wait in the kernel buffers
 *   and flow again on resume, as after a congested or flapping link whose TCP retransmissions got through.
 * - `blackhole()` / `heal()`: a cut link. Bytes in both directions are read and discarded, FIN and RST are
 *   not passed on, and new connections are accepted but never reach the target, as with a pulled cable or a
 *   firewall dropping packets: only the endpoints' own timeouts (MQTT keepalive, CONNACK timeout) notice.
 *   On heal, every connection that lost bytes is destroyed (its byte stream is corrupt, as a real one would
 *   be reset once the endpoints gave up); new connections are forwarded again.
 */
import net from 'node:net';

export interface TcpProxyOptions {
  targetHost?: string;
  targetPort: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
}

export interface TcpProxy {
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>`. */
  readonly url: string;
  /** Connections accepted so far (including those accepted during a blackhole). */
  readonly accepted: number;
  /** Connections currently open. */
  readonly open: number;
  /** Bytes discarded while blackholed, both directions. */
  readonly discardedBytes: number;
  pause(): void;
  resume(): void;
  blackhole(): void;
  heal(): void;
  /** Destroys every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Lost bytes or was opened during a blackhole: never forwarded again. */
  broken: boolean;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const links = new Set<Link>();
  let paused = false;
  let blackholed = false;
  let accepted = 0;
  let discardedBytes = 0;
  let closing: Promise<void> | undefined;

  const destroy = (link: Link): void => {
    links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  };

  /** Forwards `from` → `to` unless the link is cut; a cut discards and keeps reading so nothing backs up. */
  const pipe = (link: Link, from: net.Socket, to: () => net.Socket | undefined): void => {
    from.on('data', (chunk: Buffer) => {
      const target = to();
      if (blackholed || link.broken || target === undefined) {
        discardedBytes += chunk.length;
        link.broken = true;
        return;
      }
      if (!target.write(chunk)) {
        from.pause();
        target.once('drain', () => {
          if (!paused) from.resume();
        });
      }
    });
    // A FIN or RST crossing a cut link is lost with everything else, and the link is dead from then on.
    from.on('end', () => {
      if (blackholed) link.broken = true;
      if (link.broken) return;
      to()?.end();
    });
    from.on('close', () => {
      if (blackholed) link.broken = true;
      if (link.broken) return;
      destroy(link);
    });
    from.on('error', () => undefined);
  };

  const server = net.createServer((client) => {
    accepted += 1;
    client.setNoDelay(true);
    const link: Link = { client, upstream: undefined, broken: blackholed };
    links.add(link);
    pipe(link, client, () => link.upstream);
    if (link.broken) return;
    const upstream = net.connect({ host: targetHost, port: options.targetPort });
    upstream.setNoDelay(true);
    link.upstream = upstream;
    pipe(link, upstream, () => client);
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;

  const eachSocket = (fn: (socket: net.Socket) => void): void => {
    for (const link of links) {
      fn(link.client);
      if (link.upstream !== undefined) fn(link.upstream);
    }
  };

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return links.size;
    },
    get discardedBytes() {
      return discardedBytes;
    },
    pause() {
      paused = true;
      eachSocket((socket) => socket.pause());
    },
    resume() {
      paused = false;
      eachSocket((socket) => socket.resume());
    },
    blackhole() {
      blackholed = true;
      // Paused sockets would only buffer; a cut link drops.
      eachSocket((socket) => socket.resume());
    },
    heal() {
      blackholed = false;
      for (const link of [...links]) {
        if (link.broken) destroy(link);
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const link of [...links]) destroy(link);
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
