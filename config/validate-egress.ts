/**
 * The no-egress guard: every address the gateway connects to or listens on must stay on the box or the
 * local network unless `privacy.allowPublicEndpoints` says otherwise. Names are judged by their form
 * only (config/host-scope.ts): resolving them here would itself be a network call, and its answer could
 * change after the check anyway. The systemd units enforce the same promise in the kernel.
 */
import type { ConfigProblems } from './config-problems.js';
import { hostScope, LOCAL_SCOPES, type HostScope } from './host-scope.js';
import type { FixedSections } from './schema.js';

const OVERRIDE = 'set privacy.allowPublicEndpoints: true to allow it';

export function validateEgress(fixed: FixedSections, problems: ConfigProblems): void {
  if (fixed.privacy.allowPublicEndpoints === true) return;
  const url = brokerHost(fixed.mqtt.url);
  if (url !== null) check(url, 'mqtt.url', 'connect', problems);
  if (fixed.broker.embedded.enabled === true && typeof fixed.broker.embedded.host === 'string') {
    check(fixed.broker.embedded.host, 'broker.embedded.host', 'listen', problems);
  }
  if (fixed.metrics.enabled === true && typeof fixed.metrics.host === 'string') {
    check(fixed.metrics.host, 'metrics.host', 'listen', problems);
  }
}

/** The host of a TCP broker URL; null for a Unix socket or a URL already reported as invalid. */
function brokerHost(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') return null;
  return url.hostname === '' ? null : url.hostname;
}

function check(host: string, path: string, use: 'connect' | 'listen', problems: ConfigProblems): void {
  const scope = hostScope(host);
  if (LOCAL_SCOPES.has(scope)) return;
  problems.add(path, `${describe(host, scope, use)}; ${OVERRIDE}`);
}

function describe(host: string, scope: HostScope, use: 'connect' | 'listen'): string {
  switch (scope) {
    case 'unspecified':
      return use === 'listen'
        ? `${host} listens on every interface, public ones included: name a loopback or LAN address`
        : `${host} is not an address to connect to`;
    case 'public':
      return `${host} is outside loopback, link-local and private ranges: events would leave the local network`;
    default:
      return (
        `host name ${JSON.stringify(host)} cannot be checked without a DNS lookup: use an IP address, ` +
        'localhost, a .local/.lan/.internal/.home.arpa name or a single-label name'
      );
  }
}
