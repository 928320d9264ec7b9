/** What the gateway has seen and decided since it started (the status page and tests read them). */
export interface GatewayCounters {
  received: number;
  redelivered: number;
  /** By reason. */
  decided: Record<string, number>;
}

export function newGatewayCounters(): GatewayCounters {
  return { received: 0, redelivered: 0, decided: {} };
}
