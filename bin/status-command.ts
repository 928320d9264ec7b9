/**
 * `infergate status`: a one-screen summary of a running gateway, from `/status.json` on the metrics
 * listener the config names. When the gateway does not answer there, it says so and summarizes the state
 * file instead (backlog and the last decisions), and exits 69 so scripts can tell the two apart.
 */
import type { InfergateConfig } from '../daemon/config.js';
import type { StatusSnapshot } from '../adapters/ops/index.js';
import { hostScope, LOCAL_SCOPES } from '../config/host-scope.js';
import { localTime } from './local-time.js';
import { DecisionLogReader, DecisionLogUnreadable, type DecisionLogSummary } from './decision-log-reader.js';

/** sysexits(3) EX_UNAVAILABLE: the gateway did not answer; what was printed came from the state file. */
export const EXIT_UNAVAILABLE = 69;
/** How long to wait for the gateway's answer, ms. */
const FETCH_TIMEOUT_MS = 3_000;
/** Decisions the state-file summary looks at. */
const STATE_SAMPLE = 1_000;

export interface StatusOptions {
  config: InfergateConfig;
  /** Overrides the address taken from the config. */
  url: string | null;
  json: boolean;
}

/** Where the config's metrics listener answers, or why there is none to ask. */
export function statusUrl(config: InfergateConfig): { url: string } | { problem: string } {
  const { enabled, host, port } = config.metrics;
  if (!enabled) return { problem: 'the metrics listener is disabled in the config (metrics.enabled: false)' };
  if (port === 0) return { problem: 'metrics.port is 0 (a free port picked at start): pass --url' };
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { url: `http://${target.includes(':') ? `[${target}]` : target}:${port}/status.json` };
}

/**
 * `--url` is held to the no-egress rule like the config's addresses: http on a local host only (unless the
 * config allows public endpoints). Null when acceptable, else why not.
 */
export function urlProblem(url: string, config: InfergateConfig): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `--url ${url} is not a URL`;
  }
  if (parsed.protocol !== 'http:') return '--url takes an http:// address (the metrics listener)';
  if (!config.privacy.allowPublicEndpoints && !LOCAL_SCOPES.has(hostScope(parsed.hostname))) {
    return `--url ${parsed.hostname} is not a local address (privacy.allowPublicEndpoints is off)`;
  }
  return null;
}

export async function statusCommand(
  options: StatusOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const where = options.url !== null ? { url: options.url } : statusUrl(options.config);
  let why: string;
  if ('url' in where) {
    try {
      const response = await fetch(where.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const snapshot = (await response.json()) as StatusSnapshot;
      out.write(options.json ? `${JSON.stringify(snapshot)}\n` : formatSnapshot(snapshot));
      return 0;
    } catch (error) {
      why = `the gateway does not answer at ${where.url} (${failure(error)})`;
    }
  } else {
    why = where.problem;
  }
  err.write(`infergate: ${why}; showing the state file instead\n`);
  let reader: DecisionLogReader;
  try {
    reader = DecisionLogReader.open(options.config.state.dir);
  } catch (error) {
    if (!(error instanceof DecisionLogUnreadable)) throw error;
    err.write(`infergate: ${error.message}\n`);
    return EXIT_UNAVAILABLE;
  }
  try {
    const summary = reader.summary(STATE_SAMPLE);
    out.write(
      options.json
        ? `${JSON.stringify({ running: false, reason: why, stateFile: reader.file, ...summary })}\n`
        : formatStateSummary(options.config, reader.file, why, summary),
    );
  } finally {
    reader.close();
  }
  return EXIT_UNAVAILABLE;
}

/** One screen: headline, a row per pipeline, models, broker, inbox, dead letters, LLM. */
export function formatSnapshot(s: StatusSnapshot): string {
  const lines: string[] = [];
  const broker = s.broker;
  lines.push(
    `${s.gateway.id}: ${s.gateway.ready ? 'ready' : 'NOT READY'}, infergate ${s.gateway.version}, ` +
      `up ${duration(s.gateway.uptimeSec)}`,
  );
  const session =
    broker.sessionPresent === null ? '' : broker.sessionPresent ? ', session resumed' : ', new session';
  lines.push(
    `broker: ${broker.state} to ${broker.url} as ${broker.clientId}${session}, ${broker.connects} connect(s)`,
  );
  if (broker.lastDisconnect !== null)
    lines.push(`  last disconnect ${clock(broker.lastDisconnect.at)}: ${broker.lastDisconnect.reason}`);
  lines.push('');
  const minutes = s.decisions.minutes.length;
  const rows = s.pipelines.map((p) => {
    const recent = s.decisions.series.filter((x) => x.pipeline === p.name);
    const total = recent.reduce((sum, x) => sum + x.counts.reduce((a, b) => a + b, 0), 0);
    const fallbacks = recent
      .filter((x) => x.source !== 'model')
      .map((x) => `${x.reason} ${x.counts.reduce((a, b) => a + b, 0)}`);
    return [
      p.name,
      `${p.budgetMs} ms`,
      ms(p.latency.p50Ms),
      ms(p.latency.p99Ms),
      p.latency.p99Ms === null ? '-' : p.latency.p99Ms > p.budgetMs ? 'OVER' : 'within',
      String(total),
      fallbacks.length === 0 ? '-' : fallbacks.join(', '),
    ];
  });
  lines.push(
    ...columns([
      ['pipeline', 'budget', 'p50', 'p99', 'p99 vs budget', `decided ${minutes}m`, `fallbacks ${minutes}m`],
      ...rows,
    ]),
  );
  lines.push(`  (p50/p99 over the last ${Math.round(s.latencyWindowSec / 60)} min)`, '');
  for (const m of s.models) {
    const headline = m.card?.metrics.find((x) => x.name === m.card?.headline) ?? m.card?.metrics[0];
    lines.push(
      `model ${m.name}: ${m.quantization ?? 'quantization unknown'}, sha256 ${m.sha256?.slice(0, 12) ?? 'not loaded'}` +
        `${headline === undefined ? '' : `, ${headline.name} ${headline.value}`}, queued ${m.queued}, running ${m.inflight}`,
    );
  }
  lines.push(
    `inbox: ${s.inbox.undecided} awaiting a decision, ${s.inbox.unacknowledged} awaiting the broker (${s.inbox.stateDir})`,
  );
  const codes = Object.entries(s.deadLetters.byCode).map(([code, n]) => `${code} ${n}`);
  lines.push(
    `dead letters: ${s.deadLetters.total} since start${codes.length === 0 ? '' : ` (${codes.join(', ')})`}`,
  );
  for (const d of s.deadLetters.recent.slice(0, 3)) lines.push(`  ${clock(d.at)}  ${d.code}  ${d.topic}`);
  lines.push(
    s.llm === null
      ? 'llm: no LLM pipeline'
      : `llm: ${s.llm.build ?? 'not loaded'} build, CPU variant ${s.llm.cpuVariant ?? '-'} (${s.llm.binaries ?? '-'}), ` +
          `pipelines ${s.llm.pipelines.join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

function formatStateSummary(
  config: InfergateConfig,
  file: string,
  why: string,
  summary: DecisionLogSummary,
): string {
  const lines = [
    `${config.gateway.id}: NOT RUNNING (${why})`,
    `state file ${file}: ${summary.headSeq} decisions recorded; ${summary.pending} events undecided, ` +
      `${summary.unpublished} decisions not yet acknowledged by the broker (finished at the next start)`,
    '',
  ];
  if (summary.sampled === 0) {
    lines.push('no decisions in the log');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`the last ${summary.sampled} decisions:`);
  lines.push(
    ...columns([
      ['pipeline', 'decisions', 'p50', 'p99', 'from', 'to', 'source/reason'],
      ...summary.pipelines.map((p) => [
        p.pipeline,
        String(p.decisions),
        ms(p.p50Ms),
        ms(p.p99Ms),
        localTime(p.firstAt),
        localTime(p.lastAt),
        Object.entries(p.bySourceReason)
          .map(([k, n]) => `${k} ${n}`)
          .join(', '),
      ]),
    ]),
  );
  return `${lines.join('\n')}\n`;
}

function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function ms(value: number | null): string {
  if (value === null) return '-';
  return value < 10
    ? `${value.toFixed(2)} ms`
    : value < 100
      ? `${value.toFixed(1)} ms`
      : `${Math.round(value)} ms`;
}

function duration(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor(sec / 3600) % 24;
  const m = Math.floor(sec / 60) % 60;
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${sec % 60}s` : `${sec}s`;
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

function failure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (error instanceof Error && error.name === 'TimeoutError')
    return `no answer within ${FETCH_TIMEOUT_MS} ms`;
  return error instanceof Error ? error.message : String(error);
}
