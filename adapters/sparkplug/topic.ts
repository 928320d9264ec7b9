/**
 * Sparkplug B topics (3.0 §4.1): `spBv1.0/<group>/<type>/<edge node>[/<device>]`, and the subscriptions a
 * host needs around a pipeline's DATA filter.
 */

export const NAMESPACE = 'spBv1.0';
/** Checked on every inbound message, Sparkplug or not: a constant, not a template per call. */
const NAMESPACE_PREFIX = `${NAMESPACE}/`;

export type NodeMessageType = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD';
export type DeviceMessageType = 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';
export type MessageType = NodeMessageType | DeviceMessageType;

const NODE_TYPES: ReadonlySet<string> = new Set<NodeMessageType>(['NBIRTH', 'NDEATH', 'NDATA', 'NCMD']);
const DEVICE_TYPES: ReadonlySet<string> = new Set<DeviceMessageType>(['DBIRTH', 'DDEATH', 'DDATA', 'DCMD']);

export interface SparkplugTopic {
  group: string;
  type: MessageType;
  edge: string;
  /** Null for node-level messages. */
  device: string | null;
}

/** The parts of a Sparkplug B topic, or null for anything else (STATE included). */
export function parseSparkplugTopic(topic: string): SparkplugTopic | null {
  if (!topic.startsWith(NAMESPACE_PREFIX)) return null;
  const levels = topic.split('/');
  const [, group, type, edge, device] = levels;
  if (group === undefined || type === undefined || edge === undefined) return null;
  if (group === '' || edge === '') return null;
  if (levels.length === 4 && NODE_TYPES.has(type)) {
    return { group, type: type as MessageType, edge, device: null };
  }
  if (levels.length === 5 && DEVICE_TYPES.has(type) && device !== '') {
    return { group, type: type as MessageType, edge, device: device! };
  }
  return null;
}

/** One key per edge node (group and edge node ids cannot contain `/`). */
export function nodeKey(group: string, edge: string): string {
  return `${group}/${edge}`;
}

/** NCMD to the edge node, or DCMD to one of its devices. */
export function commandTopic(group: string, edge: string, device: string | null): string {
  return device === null
    ? `${NAMESPACE}/${group}/NCMD/${edge}`
    : `${NAMESPACE}/${group}/DCMD/${edge}/${device}`;
}

/** A pipeline's Sparkplug subscription: NDATA or DDATA; each id a literal level or `+`. */
export interface DataFilter {
  group: string;
  type: 'NDATA' | 'DDATA';
  edge: string;
  device: string | null;
}

/**
 * The DATA filter a Sparkplug pipeline subscribes to, or why it is not one. `#` is refused: the host must
 * know which edge nodes it tracks, and a shared subscription would split one node's `seq` stream between
 * gateways, so every one of them would see gaps.
 */
export function parseDataFilter(filter: string): DataFilter | string {
  const hint = `must be ${NAMESPACE}/<group>/DDATA/<edge node>/<device> or ${NAMESPACE}/<group>/NDATA/<edge node> (each id a name or +)`;
  if (filter.startsWith('$share/')) return `${hint}; a Sparkplug pipeline cannot use a shared subscription`;
  const levels = filter.split('/');
  if (levels[0] !== NAMESPACE || levels.includes('#') || levels.some((level) => level === '')) return hint;
  const [, group, type, edge, device] = levels as [string, string, string, string, string | undefined];
  if (type === 'NDATA' && levels.length === 4) return { group, type, edge, device: null };
  if (type === 'DDATA' && levels.length === 5) return { group, type, edge, device: device! };
  return hint;
}

/** The edge nodes a filter covers: group and edge node level, each a name or `+`. */
export interface NodeScope {
  group: string;
  edge: string;
}

function levelCovers(outer: string, inner: string): boolean {
  return outer === '+' || outer === inner;
}

/** Every edge node `inner` names is also named by `outer`. */
export function scopeCovers(outer: NodeScope, inner: NodeScope): boolean {
  return levelCovers(outer.group, inner.group) && levelCovers(outer.edge, inner.edge);
}

/** Some edge nodes are in both scopes but neither holds the other: their subscriptions would overlap. */
export function scopesCross(a: NodeScope, b: NodeScope): boolean {
  const meet = (x: string, y: string): boolean => x === '+' || y === '+' || x === y;
  return meet(a.group, b.group) && meet(a.edge, b.edge) && !scopeCovers(a, b) && !scopeCovers(b, a);
}

/**
 * What the host subscribes to for the edge nodes of `scopes`: every message type that carries the node's
 * `seq` or changes its BIRTH state (3.0 §7.1: seq counts NDATA, DBIRTH, DDATA and DDEATH together, so a
 * host watching one device alone would see gaps). Scopes held by another are dropped: MQTT 5 brokers
 * deliver one copy per matching subscription.
 */
export function hostSubscriptions(scopes: readonly NodeScope[]): string[] {
  const kept = scopes.filter(
    (scope, i) =>
      !scopes.some(
        (other, j) => j !== i && scopeCovers(other, scope) && (!scopeCovers(scope, other) || j < i),
      ),
  );
  return kept.flatMap(({ group, edge }) => [
    `${NAMESPACE}/${group}/NBIRTH/${edge}`,
    `${NAMESPACE}/${group}/NDEATH/${edge}`,
    `${NAMESPACE}/${group}/NDATA/${edge}`,
    `${NAMESPACE}/${group}/DBIRTH/${edge}/+`,
    `${NAMESPACE}/${group}/DDEATH/${edge}/+`,
    `${NAMESPACE}/${group}/DDATA/${edge}/+`,
  ]);
}
