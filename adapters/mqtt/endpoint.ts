/**
 * Where the broker is and how a socket to it is opened: `mqtt://`, `mqtts://` (TLS material read once, at
 * start) or `unix:///path`. The transport hands `createStreamBuilder` to MQTT.js, which calls it for every
 * connection attempt.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { MqttConfig } from '../../daemon/config.js';
import { ErrorCodes, MqttError } from '../../daemon/errors.js';
import { WriteWindow } from './write-window.js';

export type MqttEndpoint =
  { kind: 'tcp'; host: string; port: number; tls: boolean } | { kind: 'unix'; path: string };

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const DEFAULT_PORT = 1883;
const DEFAULT_TLS_PORT = 8883;

/** The endpoint, or why the URL is refused. */
export function parseMqttEndpoint(url: string): MqttEndpoint | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL: use mqtt://host:port, mqtts://host:port or unix:///path/to/socket';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'credentials in the URL would end up in logs; use mqtt.username and mqtt.passwordFile';
  }
  switch (parsed.protocol) {
    case 'unix:': {
      // MQTT.js itself would treat `unix:` as an unknown scheme and silently dial localhost:1883.
      const path = decodeURIComponent(parsed.pathname);
      if (parsed.host !== '' || path === '' || path === '/')
        return 'a unix socket URL is unix:///absolute/path';
      return { kind: 'unix', path };
    }
    case 'mqtt:':
    case 'mqtts:': {
      const secure = parsed.protocol === 'mqtts:';
      const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
      if (host === '') return 'missing host';
      const port = parsed.port === '' ? (secure ? DEFAULT_TLS_PORT : DEFAULT_PORT) : Number(parsed.port);
      return { kind: 'tcp', host, port, tls: secure };
    }
    default:
      return `unsupported scheme ${parsed.protocol} (use mqtt:, mqtts: or unix:)`;
  }
}

/** Reads the configured CA, certificate and key; a file that cannot be read is a config error, not retried. */
export async function readTlsMaterial(config: MqttConfig): Promise<TlsMaterial> {
  const material: TlsMaterial = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = config.tls[key];
    if (file === null) continue;
    try {
      material[key] = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new MqttError(ErrorCodes.MQTT_CONNECT, `cannot read mqtt.tls.${key} file ${file}: ${code}`, {
        retryable: false,
        cause: error,
      });
    }
  }
  return material;
}

/** What the transport learns of each connection's write window (see WriteWindow). */
export interface WriteWindowHooks {
  /** Runs before held writes leave; throwing drops them with the connection. */
  beforeRelease(): void;
  /** Told of each new connection's window. */
  opened(window: WriteWindow): void;
}

const NO_WINDOW_HOOKS: WriteWindowHooks = { beforeRelease: () => undefined, opened: () => undefined };

/** Opens one socket per call: MQTT.js calls it for the first connect and for every reconnect. */
export function createStreamBuilder(
  endpoint: MqttEndpoint,
  material: TlsMaterial,
  rejectUnauthorized: boolean,
  windowHooks: WriteWindowHooks = NO_WINDOW_HOOKS,
): () => net.Socket {
  return () => {
    const socket = connect(endpoint, material, rejectUnauthorized);
    const window = new WriteWindow(socket, () => windowHooks.beforeRelease());
    window.watch();
    windowHooks.opened(window);
    return socket;
  };
}

function connect(endpoint: MqttEndpoint, material: TlsMaterial, rejectUnauthorized: boolean): net.Socket {
  if (endpoint.kind === 'unix') return net.connect({ path: endpoint.path });
  const socket = endpoint.tls
    ? tls.connect({
        host: endpoint.host,
        port: endpoint.port,
        // SNI takes a host name only (RFC 6066 §3).
        servername: net.isIP(endpoint.host) === 0 ? endpoint.host : undefined,
        ...material,
        rejectUnauthorized,
      })
    : net.connect({ host: endpoint.host, port: endpoint.port });
  // Nagle's algorithm holds our small PUBLISH/PUBACK writes for the peer's delayed ACK, a delay of tens of
  // milliseconds per exchange (bench/README.md). Set before connecting, so it holds from the first byte of every connection.
  socket.setNoDelay(true);
  return socket;
}

/** Node/OpenSSL codes of a TLS handshake or certificate failure (SELF_SIGNED_CERT_IN_CHAIN, ...). */
export function isTlsErrorCode(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$/.test(code);
}

/** What to check for a TLS failure code: which side refused which certificate. */
export function tlsHint(code: string): string {
  // TLS alerts from the broker: it refused our client certificate, or we sent none.
  if (
    /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|SSLV3_ALERT_BAD_CERTIFICATE|TLSV1_ALERT_UNKNOWN_CA|SSLV3_ALERT_CERTIFICATE_(UNKNOWN|EXPIRED|REVOKED))$/.test(
      code,
    )
  ) {
    return 'the broker refused our client certificate (or none was sent): check mqtt.tls.cert and mqtt.tls.key, and that the broker trusts their CA';
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return 'the broker certificate does not name the host in mqtt.url: use a name or address its subjectAltName lists';
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return 'the broker certificate is expired or not yet valid: renew it, and check the clock of this box';
  }
  return 'the broker certificate was not accepted; check mqtt.tls.ca and the host name';
}
