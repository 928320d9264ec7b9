/**
 * The local HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (the process answers) and `/readyz`
 * (the gateway serves), plus the status page (`/`, `/status`) and its data (`/status.json`) when given a
 * status source. Read-only and bounded: GET/HEAD only, no request bodies, small headers, short
 * timeouts, few connections. Listens on `metrics.host:metrics.port`, or on a socket systemd passed in.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MetricsConfig } from '../../daemon/config.js';
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import type { Logger } from '../../daemon/ports.js';
import { statusPage } from './status-page.js';

export interface MetricsServerDeps {
  logger: Logger;
  config: MetricsConfig;
  /** The exposition text and its content type. */
  exposition: { metrics(): Promise<string>; readonly contentType: string };
  /** Null when the gateway is ready, else why it is not (one line). */
  readiness(): string | null;
  /** What `/status.json` answers; without it there is no status page. */
  status?: { snapshot(): Promise<unknown> };
  /** A listening socket from systemd (socket activation); used instead of host and port. */
  listenFd: number | null;
}

export interface MetricsServer {
  /** Listens; rejects with IG_ERR_METRICS_LISTEN. Resolves with where it listens. */
  start(): Promise<{ host: string; port: number }>;
  /** Closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Whole request (headers included) must arrive within this, ms. */
const REQUEST_TIMEOUT_MS = 5_000;
/** An idle connection is closed after this, ms. */
const IDLE_TIMEOUT_MS = 5_000;
/** Scrapers are few: Prometheus, a health probe, a person with curl. */
const MAX_CONNECTIONS = 16;
const MAX_HEADER_BYTES = 8 * 1024;
const MAX_HEADERS = 32;
const MAX_REQUESTS_PER_SOCKET = 1_000;
/** Errno codes after which retrying the same address cannot help. */
const PERMANENT_LISTEN_ERRORS = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EACCES', 'ENOTFOUND', 'EINVAL']);

export function createMetricsServer(deps: MetricsServerDeps): MetricsServer {
  return new HttpMetricsServer(deps);
}

class HttpMetricsServer implements MetricsServer {
  private readonly deps: MetricsServerDeps;
  private readonly log: Logger;
  private readonly sockets: Set<Socket>;
  private server: http.Server | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: MetricsServerDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'metrics' });
    this.sockets = new Set();
    this.server = undefined;
    this.stopping = undefined;
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.server !== undefined || this.stopping !== undefined) {
      throw new InfergateError(ErrorCodes.METRICS_LISTEN, 'metrics server was already started');
    }
    const server = http.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: REQUEST_TIMEOUT_MS,
      },
      (request, response) => void this.handle(request, response),
    );
    server.keepAliveTimeout = IDLE_TIMEOUT_MS;
    server.maxHeadersCount = MAX_HEADERS;
    server.maxConnections = MAX_CONNECTIONS;
    server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
    server.setTimeout(IDLE_TIMEOUT_MS);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    const { host, port } = this.deps.config;
    const fd = this.deps.listenFd;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        if (fd !== null) server.listen({ fd }, resolve);
        else server.listen(port, host, resolve);
      });
    } catch (error) {
      this.server = undefined;
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      const where = fd !== null ? `the socket systemd passed (fd ${fd})` : `${host}:${port}`;
      throw new InfergateError(
        ErrorCodes.METRICS_LISTEN,
        `metrics server cannot listen on ${where}: ${code}`,
        {
          retryable: !PERMANENT_LISTEN_ERRORS.has(code),
          cause: error,
        },
      );
    }
    server.on('error', (error) => this.log.error({ err: error }, 'metrics server error'));
    const address = server.address() as AddressInfo | null;
    const bound = { host: address?.address ?? host, port: address?.port ?? port };
    this.log.info({ ...bound, socketActivated: fd !== null }, 'metrics listening');
    return bound;
  }

  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return this.reply(response, 405, 'method not allowed\n', true);
    }
    // Nothing here reads a body; refusing one keeps a client from streaming into the process.
    const length = request.headers['content-length'];
    if ((length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined) {
      return this.reply(response, 413, 'request bodies are not accepted\n', true);
    }
    const path = (request.url ?? '/').split('?')[0];
    switch (path) {
      case '/metrics': {
        let text: string;
        try {
          text = await this.deps.exposition.metrics();
        } catch (error) {
          this.log.error({ err: error }, 'metrics collection failed');
          return this.reply(response, 500, 'metrics collection failed\n');
        }
        response.setHeader('Content-Type', this.deps.exposition.contentType);
        return this.reply(response, 200, text);
      }
      case '/healthz':
        return this.reply(response, 200, 'ok\n');
      case '/readyz': {
        const problem = this.deps.readiness();
        return problem === null
          ? this.reply(response, 200, 'ready\n')
          : this.reply(response, 503, `not ready: ${problem}\n`);
      }
      case '/':
      case '/status':
        if (this.deps.status === undefined) break;
        response.setHeader('Content-Type', 'text/html; charset=utf-8');
        response.setHeader('Content-Security-Policy', statusPage.contentSecurityPolicy);
        return this.reply(response, 200, statusPage.html);
      case '/status.json': {
        if (this.deps.status === undefined) break;
        let body: string;
        try {
          body = `${JSON.stringify(await this.deps.status.snapshot())}\n`;
        } catch (error) {
          this.log.error({ err: error }, 'status collection failed');
          return this.reply(response, 500, 'status collection failed\n');
        }
        response.setHeader('Content-Type', 'application/json; charset=utf-8');
        return this.reply(response, 200, body);
      }
    }
    return this.reply(response, 404, 'not found: try /metrics, /healthz, /readyz or /status\n');
  }

  private reply(response: http.ServerResponse, status: number, body: string, close = false): void {
    if (!response.hasHeader('Content-Type')) response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (close) response.setHeader('Connection', 'close');
    response.statusCode = status;
    response.setHeader('Content-Length', Buffer.byteLength(body));
    response.end(response.req.method === 'HEAD' ? undefined : body);
  }
}
