// One replication session of the active relay: it holds the slot, decodes the committed 'nimmer.publish'
// messages in commit order, publishes them to JetStream with many in flight (bounded), and confirms to
// Postgres only positions that JetStream acknowledged together with everything before them. Any error ends
// the session; the next one restarts from the slot's confirmed position and JetStream's dedup (Nats-Msg-Id =
// the WAL position) drops what this one had already stored.
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { AckWindow, type Completed, type TxnHandle } from './ack_window.ts';
import type { RelayConfig } from './config.ts';
import { formatLsn, msgIdOf, parseLsn, type Lsn } from './lsn.ts';
import { PG_EPOCH_UNIX_US, StageTrace } from './stage_trace.ts';
import { decodePublishMessage, PUBLISH_MESSAGE_PREFIX, type PublishRecord } from './wire.ts';

/** A status update at least this often, even when nothing moved (Postgres drops silent receivers). */
const STATUS_FORCE_MS = 10_000;

export interface SessionEvents {
  onPublished(count: number): void;
  onAcked(duplicate: boolean): void;
  onConfirmed(completed: Completed[], confirmed: Lsn): void;
}

interface Pending {
  lsn: Lsn;
  record: PublishRecord;
  txn: TxnHandle;
  /** Its row in the stage trace, -1 when tracing is off. */
  traceId: number;
}

/** Thrown when another relay holds the slot: this one is a standby. */
export class SlotBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlotBusyError';
  }
}

export class RelaySession {
  readonly window: AckWindow;
  private readonly service: LogicalReplicationService;
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private sending = 0;
  private paused = false;
  private closed = false;
  private lastStatusLsn: Lsn;
  private lastStatusAtMs = 0;
  private statusTimer: NodeJS.Timeout | null = null;
  private endResolve!: (reason: Error) => void;
  // JetStream publishes as core publishes with a reply subject per message on one wildcard inbox: the same
  // protocol as js.publish, without a request object and timer per message (half the client's CPU here).
  private readonly inbox = createInbox();
  private ackSub: Subscription | null = null;
  private readonly awaiting = new Map<number, { item: Pending; sentAtMs: number }>();
  private nextToken = 0;
  /** The trace row of the message the current XLogData carried (-1: none). */
  private lastTraceId = -1;
  private timeoutTimer: NodeJS.Timeout | null = null;
  /** Resolves (never rejects) with why the session ended. */
  readonly ended: Promise<Error>;

  constructor(
    private readonly config: RelayConfig,
    private readonly nc: NatsConnection,
    startLsn: Lsn,
    private readonly events: SessionEvents,
    private readonly trace: StageTrace | null = null,
  ) {
    this.window = new AckWindow(startLsn);
    this.lastStatusLsn = startLsn;
    this.ended = new Promise((resolve) => (this.endResolve = resolve));
    // Trap 1 (FIELD-NOTES): the library's own acks confirm what was *received*; ours confirm what JetStream stored.
    this.service = new LogicalReplicationService(
      { connectionString: config.pgUrl, application_name: `nimmer-${config.name}` },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get inFlight(): number {
    return this.sending;
  }

  /** Resolves once the slot is ours and streaming; rejects with SlotBusyError when another relay holds it. */
  async start(): Promise<void> {
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.config.publicationName], messages: true });
    this.service.on('data', (lsn: string, msg: Pgoutput.Message) => {
      try {
        this.onData(msg);
      } catch (e) {
        this.fail(e);
      }
    });
    this.service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      if (this.closed) return;
      if (this.window.keepalive(parseLsn(lsn))) this.events.onConfirmed([], this.window.confirmed);
      if (shouldRespond) this.sendStatus(true);
    });
    this.service.on('error', (e: Error) => this.fail(e));
    this.ackSub = this.nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => (err ? this.fail(err) : this.onAck(msg)) });
    this.timeoutTimer = setInterval(() => this.checkTimeouts(), Math.min(1000, this.config.publishTimeoutMs));
    const started = new Promise<void>((resolve) => this.service.once('start', () => resolve()));
    // Trap 2 (FIELD-NOTES): always pass the position explicitly; the library would reuse its last *received* one.
    const streaming = this.service.subscribe(plugin, this.config.slotName, formatLsn(this.window.confirmed));
    streaming.then(
      () => this.fail(new Error('the replication stream ended')),
      (e: unknown) => this.fail(e),
    );
    const outcome = await Promise.race([started.then(() => null), this.ended]);
    if (outcome !== null) {
      await this.close();
      if ((outcome as { code?: string }).code === '55006') throw new SlotBusyError(outcome.message);
      throw outcome;
    }
    this.statusTimer = setInterval(() => this.sendStatus(false), this.config.statusIntervalMs);
    if (this.trace !== null) this.traceWalSendTimes(this.trace);
  }

  /** The library drops the XLogData header's send time; read it off the same chunk, after the library's handler. */
  private traceWalSendTimes(trace: StageTrace): void {
    const connection = (this.service as unknown as { _connection?: { on(event: 'copyData', f: (m: { chunk: Buffer }) => void): void } })._connection;
    connection?.on('copyData', ({ chunk }) => {
      if (chunk[0] !== 0x77 || this.lastTraceId < 0) return;
      trace.walSent(this.lastTraceId, Number(chunk.readBigUInt64BE(17)) + PG_EPOCH_UNIX_US);
      this.lastTraceId = -1;
    });
  }

  /** Ends the session (idempotent). Unacknowledged messages are re-sent by the next session. */
  async close(): Promise<void> {
    // A graceful end hands the confirmed position over first, so the next relay does not re-send it.
    this.sendStatus(true);
    this.fail(new Error('closed'));
    await this.service.destroy().catch(() => undefined);
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (this.statusTimer !== null) clearInterval(this.statusTimer);
    if (this.timeoutTimer !== null) clearInterval(this.timeoutTimer);
    this.ackSub?.unsubscribe();
    this.endResolve(e instanceof Error ? e : new Error(String(e)));
  }

  private onData(msg: Pgoutput.Message): void {
    if (this.closed) return;
    switch (msg.tag) {
      case 'begin':
        this.window.begin(msg.commitTime as bigint);
        return;
      case 'message': {
        if (msg.prefix !== PUBLISH_MESSAGE_PREFIX || !msg.transactional) return;
        if (msg.messageLsn === null) throw new Error('a publish message without a WAL position');
        const lsn = parseLsn(msg.messageLsn);
        const record = decodePublishMessage(msg.content);
        const txn = this.window.published();
        const traceId = this.trace === null ? -1 : this.trace.received(lsn, txn.commitTimeUs);
        this.lastTraceId = traceId;
        this.queue.push({ lsn, record, txn, traceId });
        this.pump();
        return;
      }
      case 'commit': {
        if (msg.commitEndLsn === null) throw new Error('a commit without an end position');
        const done = this.window.commit(parseLsn(msg.commitEndLsn));
        if (done.length > 0) this.events.onConfirmed(done, this.window.confirmed);
        return;
      }
      default:
        return;
    }
  }

  private pump(): void {
    let published = 0;
    while (this.sending < this.config.inFlightMax && this.queueHead < this.queue.length && !this.closed) {
      const item = this.queue[this.queueHead++]!;
      this.sending++;
      published++;
      this.publish(item);
    }
    // Drop sent items at once when the queue is empty (the usual case below inFlightMax): kept until a later
    // compaction they would live through scavenges, be promoted, and make old-space GC work for every message.
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (published > 0) this.events.onPublished(published);
    // Backpressure: stop reading the replication socket while JetStream is the bottleneck. The library has no
    // public pause, so this reaches its connection's socket (checked: pg-logical-replication 2.5.0).
    const backlog = this.queued > 0;
    if (backlog !== this.paused) {
      const socket = (this.service as unknown as { _connection?: { stream?: { pause(): void; resume(): void } } })._connection?.stream;
      if (socket === undefined) throw new Error('cannot reach the replication socket to apply backpressure (pg-logical-replication changed?)');
      if (backlog) socket.pause();
      else socket.resume();
      this.paused = backlog;
    }
  }

  private publish(item: Pending): void {
    const h = natsHeaders();
    if (item.record.headers !== null) for (const [k, v] of Object.entries(item.record.headers)) h.set(k, v);
    h.set('Nats-Msg-Id', msgIdOf(item.lsn));
    const token = this.nextToken++;
    this.awaiting.set(token, { item, sentAtMs: Date.now() });
    this.nc.publish(item.record.subject, item.record.payload, { reply: `${this.inbox}.${token}`, headers: h });
    if (item.traceId >= 0) this.trace?.published(item.traceId);
  }

  private onAck(msg: Msg): void {
    if (this.closed) return;
    const token = Number(msg.subject.slice(this.inbox.length + 1));
    const entry = this.awaiting.get(token);
    if (entry === undefined) return; // a late answer to a publish already given up on
    this.awaiting.delete(token);
    const what = `${entry.item.record.subject} (Msg-Id ${msgIdOf(entry.item.lsn)})`;
    if (msg.headers?.code === 503) return this.fail(new Error(`no JetStream stream answered for ${what}: is the EVENTS stream applied?`));
    let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { code: number; description: string } };
    try {
      ack = msg.json();
    } catch {
      return this.fail(new Error(`JetStream answered ${what} with something that is not a PubAck`));
    }
    if (ack.error !== undefined || ack.seq === undefined) return this.fail(new Error(`JetStream refused ${what}: ${ack.error?.description ?? 'no sequence in the ack'}`));
    this.sending--;
    if (entry.item.traceId >= 0) this.trace?.acked(entry.item.traceId);
    this.events.onAcked(ack.duplicate === true);
    const done = this.window.acked(entry.item.txn);
    if (done.length > 0) this.events.onConfirmed(done, this.window.confirmed);
    this.pump();
  }

  /** Map order is publish order: the first entry is the oldest unanswered publish. */
  private checkTimeouts(): void {
    const oldest = this.awaiting.values().next();
    if (oldest.done) return;
    if (Date.now() - oldest.value.sentAtMs > this.config.publishTimeoutMs) {
      this.fail(new Error(`JetStream did not acknowledge ${oldest.value.item.record.subject} (Msg-Id ${msgIdOf(oldest.value.item.lsn)}) within ${this.config.publishTimeoutMs} ms`));
    }
  }

  /** Tells Postgres the confirmed position (exactly it: the library's acknowledge(x) sends x + 1). */
  private sendStatus(force: boolean): void {
    if (this.closed) return;
    const lsn = this.window.confirmed;
    const now = Date.now();
    if (!force && lsn === this.lastStatusLsn && now - this.lastStatusAtMs < STATUS_FORCE_MS) return;
    if (lsn === 0n) return;
    void this.service.acknowledge(formatLsn(lsn - 1n));
    this.lastStatusLsn = lsn;
    this.lastStatusAtMs = now;
  }
}
