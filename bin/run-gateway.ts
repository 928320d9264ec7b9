import type { InfergateConfig } from '../config/types.js';
import type { Logger } from '../daemon/ports.js';

/** Wires the concrete adapters into the core and runs until SIGTERM/SIGINT. Resolves with the exit code. */
export async function runGateway(_config: InfergateConfig, _logger: Logger): Promise<number> {
  throw new Error('not wired yet');
}
