/**
 * Operations adapter: the Prometheus registry and the status page's model the core reports into, the local
 * /metrics, /healthz, /readyz and status page endpoint, stats messages over MQTT, and systemd notifications
 * and socket activation.
 */
export { createMetricsRegistry, type MetricsRegistry, type MetricsRegistryDeps } from './metrics-registry.js';
export { createMetricsServer, type MetricsServer, type MetricsServerDeps } from './metrics-server.js';
export { createStatusModel, type StatusModel, type StatusModelDeps } from './status-model.js';
export type { StatusSnapshot } from './status-snapshot.js';
export { createStatsPublisher, type StatsPublisher, type StatsPublisherDeps } from './stats-publisher.js';
export { systemdListenFd } from './systemd-listen-fd.js';
export { createSystemdNotifier, type SystemdNotifier, type SystemdNotifierDeps } from './systemd-notifier.js';
