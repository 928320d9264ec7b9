/** What the registry reads at scrape time. */
export interface MetricsSources {
  /** Per model: events waiting and runs in flight. */
  queues(): ReadonlyMap<string, { queued: number; inflight: number }>;
  mqttConnected(): boolean;
  /** Inbound events held back so far because the broker was not reading our publishes. */
  mqttIntakeHolds(): number;
  /** Broker connected, models loaded, not draining. */
  ready(): boolean;
}
