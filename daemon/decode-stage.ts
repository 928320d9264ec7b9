import type { Answering } from './answering.js';
import type { InfergateError } from './errors.js';
import { Fifo } from './fifo.js';
import { inputProblem } from './input-problem.js';
import type { Admission, Job } from './job.js';
import type { Outbox } from './outbox.js';
import type { EventInput } from './pipeline.js';
import type { Clock, EventFields, GatewayMetrics, InboundMessage } from './ports.js';

/**
 * Decodes running at once. libvips decodes one image on about one core; with the model's workers on the
 * same box, more than two at a time only queues inside libuv's thread pool where no deadline is checked.
 */
export const MAX_CONCURRENT_DECODES = 2;

export interface DecodeStageDeps {
  clock: Clock;
  metrics: GatewayMetrics;
  answering: Answering;
  outbox: Outbox;
  /** The admitted jobs not decided yet, by key: a decoding event is one, so a stop waits for it. */
  jobs: Map<string, Job>;
  /** Queues a decoded event for inference (Intake.admit). */
  admit(admission: Admission): void;
}

/** An event recorded and acknowledged, waiting for its staged decoder to finish. */
export interface PendingDecode {
  admission: Omit<Admission, 'input'>;
  /** The quick fields the staged decoder gave in the message handler. */
  fields: EventFields;
  /** The message as received: its payload to decode, and what a dead letter reports of it. */
  message: InboundMessage;
}

interface Decoding extends PendingDecode {
  /** Stands for the event in `jobs` until it is decoded: its deadline timer and fallbacks act on it. */
  job: Job;
}

const EMPTY_INPUT: EventInput = new Float32Array(0);

/**
 * The asynchronous decode between intake and the scheduler (images): at most MAX_CONCURRENT_DECODES at
 * once, the rest wait in a FIFO bounded per pipeline by `maxQueue`. The deadline counts from arrival: an
 * event still waiting or decoding at its deadline gets the fallback `deadline`; one that cannot start in
 * time (by the observed decode time) gets `overload` at once; one that does not decode is answered
 * `invalid_input` and dead-lettered, as at intake.
 */
export class DecodeStage {
  private readonly deps: DecodeStageDeps;
  private readonly waiting = new Fifo<Decoding>();
  private readonly waitingByPipeline = new Map<string, number>();
  private running = 0;
  /** EWMA of one decode, ms; starts optimistic and learns from the first decodes. */
  private estimateMs = 1;

  constructor(deps: DecodeStageDeps) {
    this.deps = deps;
  }

  /** Events waiting for or in a decode. */
  get size(): number {
    return this.running + this.waiting.length;
  }

  submit(pending: PendingDecode): void {
    const { clock, answering } = this.deps;
    const { admission } = pending;
    const job: Job = {
      key: `${admission.pipeline.config.name}\u0000${admission.eventId}`,
      pipeline: admission.pipeline,
      decider: admission.decider,
      eventId: admission.eventId,
      chained: admission.chained,
      receivedMono: admission.receivedMono,
      deadlineMono: admission.deadlineMono,
      input: EMPTY_INPUT,
      replyTopic: admission.replyTopic,
      correlation: admission.correlation,
      answered: false,
      deadlineTimer: undefined,
      dispatchedMono: undefined,
    };
    this.deps.jobs.set(job.key, job);
    const remaining = job.deadlineMono - clock.monotonic();
    if (remaining <= 0) return answering.fallback(job, 'deadline');
    job.deadlineTimer = clock.setTimeout(() => {
      job.deadlineTimer = undefined;
      if (!job.answered) answering.fallback(job, 'deadline');
    }, Math.ceil(remaining));
    const decoding: Decoding = { ...pending, job };
    if (this.running < MAX_CONCURRENT_DECODES) return this.start(decoding);
    const name = job.pipeline.config.name;
    const queued = this.waitingByPipeline.get(name) ?? 0;
    const startsInMs = ((this.waiting.length + 1) / MAX_CONCURRENT_DECODES) * this.estimateMs;
    if (queued >= job.pipeline.config.maxQueue || startsInMs + this.estimateMs > remaining) {
      return answering.fallback(job, 'overload');
    }
    this.waitingByPipeline.set(name, queued + 1);
    this.waiting.push(decoding);
  }

  private start(decoding: Decoding): void {
    this.running += 1;
    const { job, fields, message } = decoding;
    const startedMono = this.deps.clock.monotonic();
    job.pipeline.completeDecode!(fields, message.payload).then(
      (complete) => this.finish(decoding, startedMono, complete, undefined),
      (error: unknown) => this.finish(decoding, startedMono, undefined, error),
    );
  }

  private finish(
    decoding: Decoding,
    startedMono: number,
    complete: EventFields | undefined,
    error: unknown,
  ): void {
    const { clock, metrics } = this.deps;
    const { job } = decoding;
    const decodeMs = clock.monotonic() - startedMono;
    this.estimateMs = this.estimateMs * 0.8 + decodeMs * 0.2;
    metrics.stageLatency(job.pipeline.config.name, 'decode', clock.monotonic() - job.receivedMono);
    this.running -= 1;
    try {
      if (!job.answered) this.settle(decoding, complete, error);
    } finally {
      this.pump();
    }
  }

  private settle(decoding: Decoding, complete: EventFields | undefined, error: unknown): void {
    const { job, admission } = decoding;
    let input: EventInput | undefined;
    let problem: InfergateError | undefined;
    if (complete === undefined) problem = inputProblem(error);
    else {
      try {
        input = job.pipeline.encode(complete);
      } catch (encodeError) {
        problem = inputProblem(encodeError);
      }
    }
    if (problem !== undefined) return this.refuse(decoding, problem);
    // The stand-in retires: its timer would answer an event the scheduler now owns (with a timer of its own).
    this.deps.clock.clearTimeout(job.deadlineTimer);
    job.deadlineTimer = undefined;
    job.answered = true;
    this.deps.jobs.delete(job.key);
    try {
      this.deps.admit({ ...admission, input: input! });
    } catch {
      // The pipeline's model went away in a reload while the image decoded.
      const admitted = this.deps.jobs.get(job.key);
      if (admitted !== undefined) this.deps.answering.fallback(admitted, 'overload');
    }
  }

  private refuse(decoding: Decoding, problem: InfergateError): void {
    const { job, message } = decoding;
    if (!this.deps.answering.refused(job, problem)) return;
    this.deps.outbox.deadLetter(problem.code, problem.message, message, job.chained.inputSha256, {
      pipeline: job.pipeline.config.name,
      eventId: job.eventId,
    });
  }

  private pump(): void {
    while (this.running < MAX_CONCURRENT_DECODES && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      const name = next.job.pipeline.config.name;
      this.waitingByPipeline.set(name, (this.waitingByPipeline.get(name) ?? 1) - 1);
      if (next.job.answered) continue; // its deadline came while it waited
      this.start(next);
    }
  }
}
