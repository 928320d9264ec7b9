/**
 * The most recent dead letters for the status page: error code, topic and time only. The payload never
 * reaches this module (the core reports code and topic), so the page cannot show it.
 */
export interface DeadLetterEntry {
  /** ms epoch. */
  at: number;
  code: string;
  topic: string;
}

export interface DeadLetterView {
  total: number;
  byCode: Record<string, number>;
  /** Newest first. */
  recent: DeadLetterEntry[];
}

/** Distinct codes counted; the codes are a fixed set (docs/errors.md), so this is only a bound. */
const MAX_CODES = 64;
/** A topic is shown up to this many characters (MQTT allows 64 KiB). */
const MAX_TOPIC_CHARS = 200;

export class DeadLetterRing {
  private readonly entries: (DeadLetterEntry | undefined)[];
  private readonly byCode: Map<string, number>;
  private next: number;
  private total: number;

  constructor(capacity: number) {
    this.entries = new Array<DeadLetterEntry | undefined>(capacity).fill(undefined);
    this.byCode = new Map();
    this.next = 0;
    this.total = 0;
  }

  record(code: string, topic: string, at: number): void {
    this.total += 1;
    if (this.byCode.has(code) || this.byCode.size < MAX_CODES)
      this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    const shown = topic.length > MAX_TOPIC_CHARS ? `${topic.slice(0, MAX_TOPIC_CHARS)}…` : topic;
    this.entries[this.next] = { at, code, topic: shown };
    this.next = (this.next + 1) % this.entries.length;
  }

  view(): DeadLetterView {
    const recent: DeadLetterEntry[] = [];
    const length = this.entries.length;
    for (let i = 1; i <= length; i++) {
      const entry = this.entries[(this.next - i + length) % length];
      if (entry !== undefined) recent.push({ ...entry });
    }
    return { total: this.total, byCode: Object.fromEntries(this.byCode), recent };
  }
}
