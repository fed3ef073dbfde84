// The player client acknowledging delivery itself (issue 6): after each SQLite transaction that
// applied canon of an event, the event is queued and `acknowledgeDelivered` is posted for it. The
// answers decide what happens next:
//   acked / already / late / unknown / not_participant → done (final; nothing a retry could change);
//   incomplete  → more canon naming the player is on its way: acknowledge again after the next apply
//                 of that event (an apply while the POST was in flight re-queues it at once);
//   unavailable → no node answered: retry with exponential backoff, rotating through the base URLs.
// Bounded: at most `queueMax` events are tracked and `concurrency` POSTs are in flight; an event
// refused for a full queue is counted (`dropped`) and tracked again at its next apply.
import { z } from 'zod';
import { acknowledgeDelivered, type DeliveryAckAnswer } from './delivery_ack.ts';
import type { LocalStore } from './local_store.ts';

export const DeliveryAckConfigSchema = z.strictObject({
  /** Any node's (or the controller's) base URLs; an unanswered POST tries the next one. */
  baseUrls: z.array(z.url()).min(1).max(64),
  /** Events tracked at once (queued, in flight, waiting for more canon, backing off). */
  queueMax: z.number().int().min(1).max(100_000).default(4_096),
  /** POSTs in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
  retryBaseMs: z.number().int().min(1).max(60_000).default(100),
  retryMaxMs: z.number().int().min(1).max(600_000).default(5_000),
  /** Per POST. */
  timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
});
export type DeliveryAckConfig = z.infer<typeof DeliveryAckConfigSchema>;
export type DeliveryAckConfigInput = z.input<typeof DeliveryAckConfigSchema>;

export type FinalAckAnswer = Exclude<DeliveryAckAnswer, 'incomplete' | 'unavailable'>;
/** Called for every answer (final or not); `attempt` counts the POSTs for this event so far. */
export type AckListener = (eventUid: string, answer: DeliveryAckAnswer, attempt: number) => void;

export interface DeliveryAckStats {
  posted: number;
  final: number;
  incomplete: number;
  unavailable: number;
  dropped: number;
}

type State = 'queued' | 'inflight' | 'waiting' | 'backoff';
interface Entry {
  state: State;
  attempts: number;
  /** Failed attempts in a row (unanswered), for the backoff. */
  failures: number;
  /** An apply arrived while the POST was in flight. */
  appliedSincePost: boolean;
  timer: NodeJS.Timeout | null;
}

const FINAL: ReadonlySet<DeliveryAckAnswer> = new Set(['acked', 'already', 'late', 'unknown', 'not_participant']);

export class DeliveryAcker {
  readonly config: DeliveryAckConfig;
  readonly stats: DeliveryAckStats = { posted: 0, final: 0, incomplete: 0, unavailable: 0, dropped: 0 };
  private readonly entries = new Map<string, Entry>();
  /** FIFO of events in state 'queued'. */
  private readonly queue: string[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly listeners: AckListener[] = [];
  private urlIndex = 0;
  private stopped = false;

  constructor(
    private readonly store: LocalStore,
    input: DeliveryAckConfigInput,
  ) {
    this.config = DeliveryAckConfigSchema.parse(input);
    if (this.config.retryMaxMs < this.config.retryBaseMs) throw new Error('deliveryAck: retryMaxMs must be ≥ retryBaseMs');
  }

  onAnswer(listener: AckListener): void {
    this.listeners.push(listener);
  }

  /** Events tracked right now (queued, in flight, waiting for more canon or backing off). */
  get pending(): number {
    return this.entries.size;
  }

  /** The SQLite transaction that applied canon of these events committed. */
  applied(eventUids: Iterable<string>): void {
    if (this.stopped) return;
    for (const uid of eventUids) {
      const e = this.entries.get(uid);
      if (e === undefined) {
        if (this.entries.size >= this.config.queueMax) {
          this.stats.dropped++;
          continue;
        }
        this.entries.set(uid, { state: 'queued', attempts: 0, failures: 0, appliedSincePost: false, timer: null });
        this.queue.push(uid);
      } else if (e.state === 'inflight') e.appliedSincePost = true;
      else if (e.state === 'waiting') this.requeue(uid, e);
      // queued: already due; backoff: the retry sends the store's canon ids as they are then.
    }
    this.pump();
  }

  /** Stops acknowledging: timers cleared, in-flight POSTs awaited; tracked events are forgotten. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const e of this.entries.values()) if (e.timer !== null) clearTimeout(e.timer);
    this.queue.length = 0;
    await Promise.allSettled([...this.inflight]);
    this.entries.clear();
  }

  private requeue(uid: string, e: Entry): void {
    e.state = 'queued';
    this.queue.push(uid);
  }

  private pump(): void {
    while (!this.stopped && this.inflight.size < this.config.concurrency && this.queue.length > 0) {
      const uid = this.queue.shift()!;
      const e = this.entries.get(uid);
      if (e?.state !== 'queued') continue;
      const p = this.post(uid, e).finally(() => {
        this.inflight.delete(p);
        this.pump();
      });
      this.inflight.add(p);
    }
  }

  private async post(uid: string, e: Entry): Promise<void> {
    e.state = 'inflight';
    e.appliedSincePost = false;
    e.attempts++;
    this.stats.posted++;
    const baseUrl = this.config.baseUrls[this.urlIndex % this.config.baseUrls.length]!;
    let answer: DeliveryAckAnswer;
    try {
      answer = await acknowledgeDelivered(this.store, uid, { baseUrl, timeoutMs: this.config.timeoutMs });
    } catch {
      answer = 'unavailable'; // the store closed under us, or a malformed answer: treated as no answer
    }
    if (this.stopped) return;
    for (const l of this.listeners) l(uid, answer, e.attempts);
    if (FINAL.has(answer)) {
      this.stats.final++;
      this.entries.delete(uid);
    } else if (answer === 'incomplete') {
      this.stats.incomplete++;
      e.failures = 0;
      if (e.appliedSincePost) this.requeue(uid, e);
      else e.state = 'waiting';
    } else {
      this.stats.unavailable++;
      this.urlIndex++;
      e.state = 'backoff';
      const delayMs = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** Math.min(e.failures++, 20));
      e.timer = setTimeout(() => {
        e.timer = null;
        if (this.stopped || this.entries.get(uid) !== e) return;
        this.requeue(uid, e);
        this.pump();
      }, delayMs);
    }
  }
}
