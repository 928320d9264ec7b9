/**
 * The soak's bookkeeping per event: when it was sent, whether and how it was answered. Typed arrays, not a
 * Map, so a run of millions of events costs a few bytes per event and no garbage.
 */
import type { IPublishPacket } from 'mqtt';

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class SoakReplies {
  /** performance.now() at send, NaN while unsent. */
  private readonly sentAt: Float64Array;
  /** Answers per event, saturating at 255. */
  private readonly answers: Uint8Array;
  // A hash of (decision, source, reason, score) per id, so a repeated answer is compared without keeping it.
  private readonly answerKey: Uint32Array;
  /** First answers by `source/reason`. */
  readonly reasons: Record<string, number> = {};
  /** Latency of every first answer, ms, in arrival order. */
  readonly latencies: number[] = [];
  private minuteLatencies: number[] = [];
  private minuteFallbacks = 0;
  /** Distinct ids answered. */
  answered = 0;
  /** Extra answers for an id already answered. */
  repeats = 0;
  /** Repeats whose decision/source/reason/score differ from the first answer. */
  conflicting = 0;
  /** Replies to ids this run did not send. */
  strays = 0;

  /** `runTag` makes the ids unique to this run, so a reply from any earlier run is a stray. */
  constructor(
    private readonly runTag: string,
    private readonly total: number,
  ) {
    this.sentAt = new Float64Array(total).fill(NaN);
    this.answers = new Uint8Array(total);
    this.answerKey = new Uint32Array(total);
  }

  id(i: number): string {
    return `${this.runTag}-${i}`;
  }

  markSent(i: number, now: number): void {
    this.sentAt[i] = now;
  }

  /** The MQTT `message` handler for the reply topic. */
  readonly onReply = (_topic: string, payload: Buffer, packet: IPublishPacket): void => {
    const now = performance.now();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      // Matched through the correlation data below.
    }
    const id = typeof body.id === 'string' ? body.id : packet.properties?.correlationData?.toString('utf8');
    const i = id?.startsWith(`${this.runTag}-`) ? Number(id.slice(this.runTag.length + 1)) : NaN;
    if (!Number.isInteger(i) || i < 0 || i >= this.total || Number.isNaN(this.sentAt[i])) {
      this.strays++;
      return;
    }
    const code = fnv1a(JSON.stringify([body.decision, body.source, body.reason, body.score]));
    if (this.answers[i] > 0) {
      this.repeats++;
      if (this.answerKey[i] !== code) this.conflicting++;
      if (this.answers[i] < 255) this.answers[i]++;
      return;
    }
    this.answers[i] = 1;
    this.answerKey[i] = code;
    this.answered++;
    const latency = now - this.sentAt[i];
    this.minuteLatencies.push(latency);
    this.latencies.push(latency);
    const outcome = `${String(body.source)}/${String(body.reason)}`;
    this.reasons[outcome] = (this.reasons[outcome] ?? 0) + 1;
    if (body.source !== 'model') this.minuteFallbacks++;
  };

  /** Of the first `sent` events, those sent at least `ageMs` ago and still unanswered. */
  unansweredOlderThan(sent: number, ageMs: number): number {
    const now = performance.now();
    let n = 0;
    for (let i = 0; i < sent; i++) {
      if (this.sentAt[i] > now - ageMs) break;
      if (this.answers[i] === 0) n++;
    }
    return n;
  }

  /** The latencies (ascending) and fallbacks of the answers since the last call, and starts a new minute. */
  takeMinute(): { latencies: number[]; fallbacks: number } {
    const minute = { latencies: this.minuteLatencies.sort((a, b) => a - b), fallbacks: this.minuteFallbacks };
    this.minuteLatencies = [];
    this.minuteFallbacks = 0;
    return minute;
  }
}
