/** What a result file says about the box it was measured on: numbers from a shared VM mean little without it. */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  mosquitto: string;
}

function mosquittoVersion(binary: string): string {
  try {
    const out = execFileSync(binary, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    // mosquitto -h exits 3 after printing its usage.
    const out = String((err as { stdout?: unknown }).stdout ?? '');
    return /version\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  }
}

export function machineInfo(mosquittoBinary: string): MachineInfo {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    mosquitto: mosquittoVersion(mosquittoBinary),
  };
}
