import type { CanaryConfig } from './config.js';
import type { Decider } from './decider.js';
import type { EventFields } from './ports.js';

/** Why a canary went back to the live model. */
export type CanaryRollbackReason = 'fallback_rate' | 'p99';

export interface CanaryRollback {
  reason: CanaryRollbackReason;
  /** Candidate decisions in the window when the bound was crossed. */
  events: number;
  fallbackRate: number;
  p99Ms: number;
}

/** The window keeps at most this many candidate decisions (the newest). */
export const CANARY_MAX_WINDOW_EVENTS = 8192;

/**
 * A candidate model deciding a stable share of a pipeline's events: an event is the candidate's when the
 * hash of its key (a topic level, such as the terminal id, or an event field) falls below `share`, so one
 * terminal stays with one model. Over a sliding window of its own decisions, the candidate's fallback rate
 * and p99 latency are held to their bounds; the first crossing sends every later event back to the live
 * model until the canary settings or the candidate file change (a reload) or the gateway restarts.
 */
export class Canary {
  readonly config: CanaryConfig;
  readonly candidate: Decider;
  private readonly windowMs: number;
  /** Whole-number threshold on the 32-bit key hash. */
  private readonly cutoff: number;
  private readonly latencies = new Float64Array(CANARY_MAX_WINDOW_EVENTS);
  private readonly fallbacks = new Uint8Array(CANARY_MAX_WINDOW_EVENTS);
  private readonly times = new Float64Array(CANARY_MAX_WINDOW_EVENTS);
  private head = 0;
  private size = 0;
  private fallbackCount = 0;
  private sinceCheck = 0;
  private rollback: CanaryRollback | null = null;

  constructor(config: CanaryConfig, candidate: Decider) {
    this.config = config;
    this.candidate = candidate;
    this.windowMs = config.windowSec * 1000;
    this.cutoff = Math.floor(config.share * 2 ** 32);
  }

  /** Set once the candidate crossed a bound; it then decides no new event. */
  get rolledBack(): CanaryRollback | null {
    return this.rollback;
  }

  /**
   * Takes over `previous`'s window and rollback when it is the same canary (same settings, same candidate
   * file): a reload of something else must not hand a rolled-back candidate its share again.
   */
  adopt(previous: Canary): void {
    if (
      JSON.stringify(previous.config) !== JSON.stringify(this.config) ||
      previous.candidate.model.info.sha256 !== this.candidate.model.info.sha256
    ) {
      return;
    }
    this.latencies.set(previous.latencies);
    this.fallbacks.set(previous.fallbacks);
    this.times.set(previous.times);
    this.head = previous.head;
    this.size = previous.size;
    this.fallbackCount = previous.fallbackCount;
    this.rollback = previous.rollback;
  }

  /** The candidate when this event is in its share (and it has not been rolled back), else null. */
  route(topic: string, fields: EventFields | undefined): Decider | null {
    if (this.rollback !== null) return null;
    const key = this.keyOf(topic, fields);
    if (key === null) return null;
    return this.cutoff >= 2 ** 32 || fnv1a(key) < this.cutoff ? this.candidate : null;
  }

  /** The event's canary key, or null when it has none (the live model decides it). */
  keyOf(topic: string, fields: EventFields | undefined): string | null {
    const key = this.config.key;
    if (key.kind === 'topicLevel') return topic.split('/')[key.level] ?? null;
    if (fields === undefined) return null;
    let node: unknown = fields;
    for (const segment of key.path.split('.')) {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment)) {
        return null;
      }
      node = (node as Record<string, unknown>)[segment];
    }
    return typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean'
      ? String(node)
      : null;
  }

  /**
   * Counts one decision of an event the candidate was given (a fallback counts against it). Returns the
   * rollback when this decision made the candidate cross a bound, once.
   */
  observe(latencyMs: number, fallback: boolean, nowMono: number): CanaryRollback | null {
    if (this.rollback !== null) return null;
    this.expire(nowMono);
    if (this.size === CANARY_MAX_WINDOW_EVENTS) this.dropOldest();
    const at = (this.head + this.size) % CANARY_MAX_WINDOW_EVENTS;
    this.latencies[at] = latencyMs;
    this.fallbacks[at] = fallback ? 1 : 0;
    this.times[at] = nowMono;
    this.size += 1;
    if (fallback) this.fallbackCount += 1;
    if (this.size < this.config.minEvents) return null;
    const fallbackRate = this.fallbackCount / this.size;
    if (fallbackRate > this.config.maxFallbackRate) {
      return this.rollBack('fallback_rate', fallbackRate, this.p99());
    }
    // The p99 needs a sort of the window: done every size/64 decisions, a bounded cost per event.
    this.sinceCheck += 1;
    if (this.sinceCheck < Math.max(1, this.size >> 6)) return null;
    this.sinceCheck = 0;
    const p99Ms = this.p99();
    return p99Ms > this.config.maxP99Ms ? this.rollBack('p99', fallbackRate, p99Ms) : null;
  }

  private rollBack(reason: CanaryRollbackReason, fallbackRate: number, p99Ms: number): CanaryRollback {
    this.rollback = { reason, events: this.size, fallbackRate, p99Ms };
    return this.rollback;
  }

  private expire(nowMono: number): void {
    while (this.size > 0 && this.times[this.head]! < nowMono - this.windowMs) this.dropOldest();
  }

  private dropOldest(): void {
    if (this.fallbacks[this.head] === 1) this.fallbackCount -= 1;
    this.head = (this.head + 1) % CANARY_MAX_WINDOW_EVENTS;
    this.size -= 1;
  }

  private p99(): number {
    const window = new Float64Array(this.size);
    for (let i = 0; i < this.size; i += 1) {
      window[i] = this.latencies[(this.head + i) % CANARY_MAX_WINDOW_EVENTS]!;
    }
    window.sort();
    return window[Math.min(this.size - 1, Math.ceil(this.size * 0.99) - 1)] ?? 0;
  }
}

/** FNV-1a, 32 bits, over the key's UTF-16 code units: stable across runs and releases. */
function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
