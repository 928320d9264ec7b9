/**
 * Where a configured host is, as far as can be told without a network call: an address literal is placed
 * in its range; a name is local only by its form (`localhost`, mDNS `.local`, the reserved home and
 * internal suffixes, a single label). Any other name is `unverifiable`: only a DNS lookup could say where
 * it points, and the config check makes no network calls.
 */
import { BlockList, isIP } from 'node:net';

export type HostScope =
  'loopback' | 'link-local' | 'private' | 'local-name' | 'unspecified' | 'public' | 'unverifiable';

/** Scopes that keep traffic on the box or the local network. */
export const LOCAL_SCOPES: ReadonlySet<HostScope> = new Set([
  'loopback',
  'link-local',
  'private',
  'local-name',
]);

function blockList(subnets: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of subnets) list.addSubnet(network, prefix, family);
  return list;
}

// BlockList also matches IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) against the IPv4 subnets.
const LOOPBACK = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
]);
const LINK_LOCAL = blockList([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
]);
// RFC 1918 and IPv6 unique local addresses. 100.64.0.0/10 (RFC 6598, carrier-grade NAT) is left out on
// purpose: it is the carrier's network, not the site's.
const PRIVATE = blockList([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
]);
const UNSPECIFIED = blockList([
  ['0.0.0.0', 8, 'ipv4'],
  ['::', 128, 'ipv6'],
]);

/** Suffixes reserved for names that cannot be delegated in the public DNS (RFC 6761, 6762, 8375). */
const LOCAL_SUFFIXES = ['.localhost', '.local', '.home.arpa', '.internal', '.lan'];
// getaddrinfo reads a lone number as an IPv4 address (134744072 is 8.8.8.8), so it is no name.
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/i;
const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/i;

export function hostScope(host: string): HostScope {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family !== 0) {
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (LOOPBACK.check(bare, type)) return 'loopback';
    if (LINK_LOCAL.check(bare, type)) return 'link-local';
    if (PRIVATE.check(bare, type)) return 'private';
    if (UNSPECIFIED.check(bare, type)) return 'unspecified';
    return 'public';
  }
  const name = bare.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return 'unverifiable';
  if (labels.length === 1) return NUMERIC_LABEL.test(name) ? 'unverifiable' : 'local-name';
  return LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix)) ? 'local-name' : 'unverifiable';
}
