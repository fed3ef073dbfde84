// The player client: one ordered consumer per subscription — an event the player took part in, or
// the district the player lives in (every event's canon there, one consumer for all of them) — each
// started at the checkpoint kept in the player's own SQLite (so the server keeps nothing for an
// offline player), and an inbox for the district path (Option B). Both paths apply through
// LocalStore, which dedupes by canon id in the same transaction as the rows.
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { DeliveryRequestSchema, playerInboxSubject, PRESENCE_SUBJECT, type DeliveryReply } from '../district/package.ts';
import { districtSubjectFilter, subjectFilterFor } from '../subject.ts';
import { DeliveryAcker } from './delivery_acker.ts';
import { EventsThread } from './events_thread.ts';
import type { EventsWorkerStats } from './events_worker.ts';
import { PlayerClientConfigSchema, type PlayerClientConfig, type PlayerClientConfigInput } from './config.ts';
import { emptyResult, LocalStore, type ApplyResult, type PruneResult, type StreamDelivery } from './local_store.ts';
import { OrderedStream } from './ordered_stream.ts';

export type ApplyPath = 'stream' | 'district';
/** Called after each committed batch (metrics, latency measurement), with the canon ids of the batch's rows for this player. */
export type ApplyListener = (path: ApplyPath, result: ApplyResult, committedAtMs: number, canonIds: readonly number[]) => void;

const RECONNECT_WAIT_MS = 250;
/** With `eventsWorker`: messages handed over by the worker and not yet applied, in batches of applyBatchMax,
 *  before the worker holds the server's flow control. */
const WORKER_BATCHES_AHEAD = 4;
/** Subscription keys of district scopes start with this (':' never occurs in a UID, so no event UID collides). */
const DISTRICT_SCOPE_PREFIX = 'district:';

/** The subscription key under which `joinDistrict(district)` keeps the district's checkpoint. */
export function districtScope(district: string): string {
  districtSubjectFilter(district); // validates the token
  return `${DISTRICT_SCOPE_PREFIX}${district}`;
}

/** The stream filter of a subscription key: an event UID's subjects, or a district scope's. */
function filterOfSubscription(key: string): string {
  return key.startsWith(DISTRICT_SCOPE_PREFIX) ? districtSubjectFilter(key.slice(DISTRICT_SCOPE_PREFIX.length)) : subjectFilterFor(key);
}
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class PlayerClient {
  readonly config: PlayerClientConfig;
  readonly store: LocalStore;
  readonly totals: Record<ApplyPath, ApplyResult> = { stream: emptyResult(), district: emptyResult() };
  /** The last error applying or subscribing (kept for the caller; the client retries on its own). */
  lastError: Error | null = null;
  /** SQLite transactions committed by the stream path (mean batch = messages / batches). */
  batchesCommitted = 0;
  /** Acknowledges delivery after each apply (config `deliveryAck`); null when the caller acknowledges. */
  readonly acks: DeliveryAcker | null;

  private online = false;
  private eventsNc: NatsConnection | null = null;
  private reconciling: Promise<void> | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private districtNc: NatsConnection | null = null;
  private inbox: Subscription | null = null;
  /** Live ordered consumers by event UID. They are ephemeral: deleted on disconnect, and a client that
   *  vanishes abruptly leaves one only until the server's inactive threshold (5 min, set by nats.js). */
  private readonly consumers = new Map<string, { stop(): Promise<void> }>();
  /** With `eventsWorker`: the worker reading the events path (null until connected, or after it ended). */
  private eventsThread: EventsThread | null = null;
  /** With `eventsWorker`: the epoch each event's current consumer was started with; a batch of any other
   *  epoch (a consumer stopped meanwhile, whose batches were in flight) is dropped, never applied. */
  private readonly epochs = new Map<string, number>();
  private nextEpoch = 1;
  private pending: StreamDelivery[] = [];
  /** Cancels the scheduled flush (linger timer or immediate): a full batch that flushes first cancels it, so the
   *  next batch gets its whole linger instead of being cut short by the previous one's timer. */
  private cancelFlush: (() => void) | null = null;
  private readonly listeners: ApplyListener[] = [];

  private constructor(config: PlayerClientConfig, store: LocalStore) {
    this.config = config;
    this.store = store;
    this.acks = config.deliveryAck === undefined ? null : new DeliveryAcker(store, config.deliveryAck);
  }

  /** Opens the player's SQLite (nothing on the network yet). */
  static open(input: PlayerClientConfigInput): PlayerClient {
    const config = PlayerClientConfigSchema.parse(input);
    return new PlayerClient(config, LocalStore.open(config.dbPath, config.playerId, { synchronous: config.sqliteSynchronous }));
  }

  /** True between connect() and disconnect(), whether or not the events path is reachable right now. */
  get connected(): boolean {
    return this.online;
  }

  onApply(listener: ApplyListener): void {
    this.listeners.push(listener);
  }

  /**
   * Connects the district path (inbox, presence announcement) and then the events path; when the
   * events servers are unreachable the client keeps retrying in the background and the district path
   * serves meanwhile. Each subscription replays from its checkpoint as soon as the stream answers.
   */
  async connect(): Promise<void> {
    if (this.online) return;
    const shared = this.config.districtServers === undefined;
    const districtNc = await connect({ ...this.natsOptions(), servers: this.config.districtServers ?? this.config.eventsServers });
    this.online = true;
    this.districtNc = districtNc;
    if (shared) this.eventsNc = districtNc;
    this.inbox = districtNc.subscribe(playerInboxSubject(this.config.playerId), { callback: (err, msg) => this.onDelivery(err, msg) });
    await districtNc.flush(); // the inbox exists before a coordinator acts on the announcement
    districtNc.publish(PRESENCE_SUBJECT, encoder.encode(JSON.stringify({ playerId: this.config.playerId })));
    // A crash between an apply's commit and its POST lost that acknowledgement: at each login, every
    // event with applied canon is acknowledged again (idempotent: 'already' when it was recorded).
    const applied = this.store.subscriptions().filter((s) => s.streamSeq > 0);
    this.acks?.applied(applied.filter((s) => !s.eventUid.startsWith(DISTRICT_SCOPE_PREFIX)).map((s) => s.eventUid));
    // A district scope holds many events: the most recent ones with canon held (bounded like the subscriptions).
    if (applied.some((s) => s.eventUid.startsWith(DISTRICT_SCOPE_PREFIX))) this.acks?.applied(this.store.recentEvents(this.config.subscriptionsMax));
    await this.reconcile();
  }

  /** Drops the connections; the checkpoints stay in SQLite and nothing stays on the server. */
  async disconnect(): Promise<void> {
    if (!this.online) return;
    this.online = false;
    if (this.reconcileTimer !== null) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = null;
    await this.reconciling;
    const events = this.eventsNc;
    const district = this.districtNc;
    const thread = this.eventsThread;
    this.eventsNc = null;
    this.districtNc = null;
    this.eventsThread = null;
    await this.stopConsumers();
    this.inbox?.unsubscribe();
    this.inbox = null;
    this.flush(); // what already arrived is applied; anything later is replayed from the checkpoint
    this.pending = [];
    await thread?.close();
    if (events !== null && events !== district) await events.close();
    await district?.close();
  }

  async close(): Promise<void> {
    await this.disconnect();
    await this.acks?.stop();
    this.store.close();
  }

  /** The player entered an event: subscribe from the start of the stream (a late joiner catches up). */
  async join(eventUid: string): Promise<void> {
    filterOfSubscription(eventUid); // validates the UID (or district scope) before anything is stored
    if (this.store.checkpointOf(eventUid) === undefined) {
      if (this.store.subscriptions().length >= this.config.subscriptionsMax) {
        throw new Error(`player ${this.config.playerId}: ${this.config.subscriptionsMax} subscriptions already (subscriptionsMax); leave ended events first`);
      }
      this.store.addSubscription(eventUid, Date.now());
    }
    if (this.online) await this.reconcile();
  }

  /**
   * The player lives in a district: one subscription (one ordered consumer, created now, not per event)
   * covers the canon of every event there, from the start of the stream. Messages not naming the player
   * only advance the checkpoint. Events the player takes part in need no `join` then: entering one costs
   * no round trip to the server, which is what keeps delivery fast when players enter events at a high rate.
   */
  async joinDistrict(district: string): Promise<void> {
    await this.join(districtScope(district));
  }

  async leaveDistrict(district: string): Promise<void> {
    await this.leave(districtScope(district));
  }

  /** Subscribes to every event of the login feed (see login_feed.ts). */
  async joinAll(eventUids: readonly string[]): Promise<void> {
    for (const e of eventUids) await this.join(e);
  }

  async leave(eventUid: string): Promise<void> {
    const c = this.consumers.get(eventUid);
    this.consumers.delete(eventUid);
    await c?.stop();
    this.store.removeSubscription(eventUid);
  }

  prune(nowMs = Date.now()): PruneResult {
    return this.store.prune(this.config.retention, nowMs);
  }

  private natsOptions() {
    return { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS, name: `player-${this.config.playerId}` };
  }

  /** Brings the events path to the wanted state: connected, one consumer per subscription. Never overlaps. */
  private reconcile(): Promise<void> {
    if (this.reconciling !== null) return this.reconciling.then(() => this.reconcile());
    this.reconciling = this.reconcileOnce()
      .catch((e: Error) => {
        this.lastError = e;
      })
      .finally(() => {
        this.reconciling = null;
        if (this.online && this.reconcileTimer === null && (!this.eventsPathUp() || this.consumers.size < this.store.subscriptions().length)) {
          this.reconcileTimer = setTimeout(() => {
            this.reconcileTimer = null;
            void this.reconcile();
          }, RECONNECT_WAIT_MS);
        }
      });
    return this.reconciling;
  }

  /** With `eventsWorker`: the events worker's CPU time and backpressure figures (null without a worker running). */
  async eventsWorkerStats(): Promise<EventsWorkerStats | null> {
    return this.eventsThread === null ? null : this.eventsThread.stats();
  }

  private eventsPathUp(): boolean {
    return this.config.eventsWorker ? this.eventsThread !== null : this.eventsNc !== null;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.online) return;
    if (this.config.eventsWorker) {
      if (this.eventsThread === null) {
        const t = await EventsThread.start(
          {
            servers: this.config.eventsServers,
            connectionName: `player-${this.config.playerId}-events`,
            reconnectTimeWaitMs: RECONNECT_WAIT_MS,
            playerId: this.config.playerId,
            stream: this.config.stream,
            idleHeartbeatMs: this.config.idleHeartbeatMs,
            batchMax: this.config.applyBatchMax,
            outstandingMax: WORKER_BATCHES_AHEAD * this.config.applyBatchMax,
          },
          {
            onBatch: (eventUid, epoch, deliveries) => this.onWorkerBatch(eventUid, epoch, deliveries),
            onError: (e) => (this.lastError = e),
            onExit: (thread, e) => this.onWorkerExit(thread, e),
          },
        );
        if (!this.online) {
          await t.close();
          return;
        }
        this.eventsThread = t;
      }
    } else if (this.eventsNc === null) {
      const nc = await connect({ ...this.natsOptions(), servers: this.config.eventsServers });
      if (!this.online) {
        await nc.close();
        return;
      }
      this.eventsNc = nc;
    }
    for (const { eventUid } of this.store.subscriptions()) {
      if (!this.online) return;
      if (!this.consumers.has(eventUid)) await this.startConsumer(eventUid);
    }
  }

  private async stopConsumers(): Promise<void> {
    const old = [...this.consumers.values()];
    this.consumers.clear();
    this.epochs.clear();
    await Promise.all(old.map((c) => c.stop().catch(() => undefined)));
  }

  private async startConsumer(eventUid: string): Promise<void> {
    if (this.config.eventsWorker) return this.startWorkerConsumer(eventUid);
    const nc = this.eventsNc;
    if (nc === null) return;
    // One filter subject per consumer (nats-server 2.9.10 has no multi-filter consumers): the event's (or district's) subjects.
    // The consumer recreates itself from the last message it delivered after a gap or missed heartbeats.
    const stream = await OrderedStream.start(nc, {
      stream: this.config.stream,
      filterSubject: filterOfSubscription(eventUid),
      afterSeq: this.store.checkpointOf(eventUid) ?? 0,
      idleHeartbeatMs: this.config.idleHeartbeatMs,
      onMessage: (streamSeq, data) => this.onStreamMessage(eventUid, streamSeq, data),
      onError: (e) => (this.lastError = e),
    });
    if (this.eventsNc !== nc || !this.online) {
      await stream.stop(); // disconnected meanwhile
      return;
    }
    this.consumers.set(eventUid, stream);
  }

  /** Starts the event's consumer in the events worker; batches of earlier consumers of the event are dropped from now. */
  private async startWorkerConsumer(eventUid: string): Promise<void> {
    const t = this.eventsThread;
    if (t === null) return;
    const epoch = this.nextEpoch++;
    this.epochs.set(eventUid, epoch);
    try {
      await t.start(eventUid, filterOfSubscription(eventUid), this.store.checkpointOf(eventUid) ?? 0, epoch);
    } catch (e) {
      if (this.epochs.get(eventUid) === epoch) this.epochs.delete(eventUid);
      throw e;
    }
    if (this.eventsThread !== t || !this.online || this.epochs.get(eventUid) !== epoch) {
      await t.stop(eventUid).catch(() => undefined); // disconnected or restarted meanwhile
      return;
    }
    this.consumers.set(eventUid, {
      stop: () => {
        if (this.epochs.get(eventUid) === epoch) this.epochs.delete(eventUid);
        return t.stop(eventUid);
      },
    });
  }

  private onWorkerBatch(eventUid: string, epoch: number, deliveries: StreamDelivery[]): void {
    for (let i = 0; i < deliveries.length; i++) {
      // Checked per message: a failed apply (flush) restarts the consumers, and the rest of this batch is then stale.
      if (!this.online || this.epochs.get(eventUid) !== epoch) {
        this.eventsThread?.consumed(deliveries.length - i);
        return;
      }
      this.pending.push(deliveries[i]!);
      if (this.pending.length >= this.config.applyBatchMax) this.flush(); // at most applyBatchMax per transaction
    }
    if (this.pending.length > 0) this.scheduleFlush();
  }

  /** The worker crashed: its consumers are gone; reconcile starts a new one from the checkpoints. */
  private onWorkerExit(t: EventsThread, e: Error): void {
    this.lastError = e;
    if (this.eventsThread !== t) return;
    this.eventsThread = null;
    this.consumers.clear();
    this.epochs.clear();
    this.flush(); // what arrived is applied; the rest is replayed
    if (this.online) void this.reconcile();
  }

  private onStreamMessage(eventUid: string, streamSeq: number, data: Uint8Array): void {
    this.pending.push({ eventUid, streamSeq, data });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.pending.length >= this.config.applyBatchMax) this.flush();
    else if (this.cancelFlush === null) {
      // A short linger lets a replay fill batches (one fsync each) instead of committing per socket read.
      if (this.config.applyLingerMs === 0) {
        const t = setImmediate(() => this.flush());
        this.cancelFlush = () => clearImmediate(t);
      } else {
        const t = setTimeout(() => this.flush(), this.config.applyLingerMs);
        this.cancelFlush = () => clearTimeout(t);
      }
    }
  }

  /** Applies what arrived as one SQLite transaction (one fsync for the whole batch). */
  private flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const events = new Set<string>();
    try {
      const ids = this.listeners.length > 0 ? [] : undefined;
      const r = this.store.applyStream(batch, Date.now(), { events, canonIds: ids });
      this.batchesCommitted++;
      this.record('stream', r, ids);
      this.acks?.applied(events);
    } catch (e) {
      // Nothing of the batch was committed: restart the consumers from the checkpoints, which replay it.
      this.lastError = e as Error;
      void this.restartConsumers();
    } finally {
      this.eventsThread?.consumed(batch.length);
    }
  }

  private async restartConsumers(): Promise<void> {
    this.epochs.clear(); // nothing more of the old consumers is applied (the worker may have batches in flight)
    await this.stopConsumers();
    this.eventsThread?.consumed(this.pending.length);
    this.pending = [];
    await new Promise((r) => setTimeout(r, RECONNECT_WAIT_MS));
    await this.reconcile();
  }

  private onDelivery(err: Error | null, msg: Msg): void {
    if (err !== null) {
      this.lastError = err;
      return;
    }
    let reply: DeliveryReply | { error: string };
    const parsed = DeliveryRequestSchema.safeParse(safeJson(decoder.decode(msg.data)));
    if (!parsed.success) reply = { error: `bad delivery: ${parsed.error.message.slice(0, 200)}` };
    else if (parsed.data.packages.length > this.config.fallbackPackagesMax) {
      reply = { error: `delivery of ${parsed.data.packages.length} packages exceeds fallbackPackagesMax ${this.config.fallbackPackagesMax}` };
    } else {
      try {
        // Buffered stream messages go first so both paths commit in arrival order.
        this.flush();
        const events = new Set<string>();
        const ids = this.listeners.length > 0 ? [] : undefined;
        const r = this.store.applyFallback(parsed.data.packages, Date.now(), { events, canonIds: ids });
        this.record('district', r, ids);
        this.acks?.applied(events);
        reply = { applied: r.applied, duplicates: r.duplicates };
      } catch (e) {
        this.lastError = e as Error;
        reply = { error: `apply failed: ${(e as Error).message}` };
      }
    }
    msg.respond(encoder.encode(JSON.stringify(reply)));
  }

  private record(path: ApplyPath, r: ApplyResult, canonIds: readonly number[] = []): void {
    const t = this.totals[path];
    t.applied += r.applied;
    t.duplicates += r.duplicates;
    t.redelivered += r.redelivered;
    t.notForPlayer += r.notForPlayer;
    t.malformed += r.malformed;
    const now = Date.now();
    for (const l of this.listeners) l(path, r, now, canonIds);
  }
}


function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
