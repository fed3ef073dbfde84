// The coordinator's view of the stream path: an ordered consumer over its district's canon subjects
// reports which canon ids reached JetStream (those rows leave the backlog: players get them from the
// stream), and a periodic stream-info probe says whether JetStream answers at all.
import { DeliverPolicy, jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVENTS_PREFIX } from '../subject.ts';

/** Every scene subject of one district (the district token sits in position 4 of a canon subject). */
export function districtSubjectFilter(district: string): string {
  return `${EVENTS_PREFIX}.*.district.${district}.scene.*`;
}

const decoder = new TextDecoder();
/** Seen ids buffered between two coordinator ticks at most. */
const SEEN_MAX = 1_000_000;

export class StreamTail {
  private messages: ConsumerMessages | null = null;
  private consumer: Consumer | null = null;
  private seen: number[] = [];
  private probeOk = false;
  private starting = false;
  /** A probe failed while the tail ran: its consumer may have died with the server (see needsRestart). */
  private interrupted = false;
  /** Messages whose payload had no canon id (not the relay's shape): counted, never silent. */
  malformed = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly district: string,
    private readonly probeTimeoutMs: number,
    private readonly expiresMs: number,
  ) {}

  get ok(): boolean {
    return this.probeOk && this.messages !== null && this.seen.length < SEEN_MAX;
  }

  /** Starts the tail at `from` (a wall-clock time before the oldest row still to confirm). Retried by the caller. */
  async start(from: Date): Promise<void> {
    if (this.messages !== null || this.starting) return;
    this.starting = true;
    try {
      const consumer = await jetstream(this.nc, { timeout: this.probeTimeoutMs }).consumers.get(this.stream, {
        filter_subjects: districtSubjectFilter(this.district),
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: from.toISOString(),
      });
      // expires bounds how long a consumer whose server died goes unnoticed (two missed heartbeats, one every
      // expires/2; nats.js defaults to 30 s and also waits that long between attempts to look the consumer up).
      const messages = await consumer.consume({ max_messages: 4_096, expires: this.expiresMs, callback: (m: JsMsg) => this.onMessage(m) });
      this.messages = messages;
      this.interrupted = false;
      this.consumer = consumer;
      // A tail that gives up is started again by the next healthy probe.
      void messages.closed().then(() => {
        if (this.messages === messages) this.messages = null;
      });
    } finally {
      this.starting = false;
    }
  }

  async probe(): Promise<boolean> {
    try {
      const jsm = await jetstreamManager(this.nc, { timeout: this.probeTimeoutMs, checkAPI: false });
      await jsm.streams.info(this.stream);
      this.probeOk = true;
    } catch {
      this.probeOk = false;
      if (this.messages !== null) this.interrupted = true;
    }
    return this.probeOk;
  }

  /**
   * The stream was unreachable while the tail ran, and answers again. Its ordered consumer (ephemeral, R1,
   * in memory) may have died with a server and nats.js would take tens of seconds to notice; meanwhile the
   * stream looks healthy, nothing gets confirmed, and the district flips back to the fallback on lag. The
   * coordinator restarts such a tail from before its oldest unconfirmed row (re-seen ids confirm nothing twice).
   */
  get needsRestart(): boolean {
    return this.messages !== null && this.interrupted && this.probeOk;
  }

  get running(): boolean {
    return this.messages !== null;
  }

  /** The canon ids seen since the last call. */
  takeSeen(): number[] {
    const s = this.seen;
    this.seen = [];
    return s;
  }

  /** Stops the tail and deletes its ephemeral consumer (best effort, bounded by the probe timeout). */
  async stop(): Promise<void> {
    this.messages?.stop();
    this.messages = null;
    this.interrupted = false;
    const c = this.consumer;
    this.consumer = null;
    if (c === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([c.delete().catch(() => false), new Promise((r) => (timer = setTimeout(r, this.probeTimeoutMs)))]);
    clearTimeout(timer);
  }

  private onMessage(m: JsMsg): void {
    try {
      const id = (JSON.parse(decoder.decode(m.data)) as { canonId?: unknown }).canonId;
      if (typeof id === 'number' && Number.isSafeInteger(id)) {
        if (this.seen.length < SEEN_MAX) this.seen.push(id);
        return;
      }
    } catch {
      // fall through
    }
    this.malformed++;
  }
}
