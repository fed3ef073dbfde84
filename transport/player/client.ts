// The player client: one ordered consumer per event the player took part in, each started at the
// checkpoint kept in the player's own SQLite (so the server keeps nothing for an offline player), and
// an inbox for the district path (Option B). Both paths apply through LocalStore, which dedupes by
// canon id in the same transaction as the rows.
import { DeliverPolicy, jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { DeliveryRequestSchema, playerInboxSubject, PRESENCE_SUBJECT, type DeliveryReply } from '../district/package.ts';
import { subjectFilterFor } from '../subject.ts';
import { PlayerClientConfigSchema, type PlayerClientConfig, type PlayerClientConfigInput } from './config.ts';
import { emptyResult, LocalStore, type ApplyResult, type PruneResult, type StreamDelivery } from './local_store.ts';

export type ApplyPath = 'stream' | 'district';
/** Called after each committed batch (metrics, latency measurement). */
export type ApplyListener = (path: ApplyPath, result: ApplyResult, committedAtMs: number) => void;

const RECONNECT_WAIT_MS = 250;
const CONSUMER_DELETE_WAIT_MS = 500;
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

  private online = false;
  private eventsNc: NatsConnection | null = null;
  private reconciling: Promise<void> | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private districtNc: NatsConnection | null = null;
  private inbox: Subscription | null = null;
  /** Live ordered consumers by event UID. They are ephemeral: deleted on disconnect, and a client that
   *  vanishes abruptly leaves one only until the server's inactive threshold (5 min, set by nats.js). */
  private readonly consumers = new Map<string, { consumer: Consumer; messages: ConsumerMessages }>();
  private pending: StreamDelivery[] = [];
  private flushScheduled = false;
  private readonly listeners: ApplyListener[] = [];

  private constructor(config: PlayerClientConfig, store: LocalStore) {
    this.config = config;
    this.store = store;
  }

  /** Opens the player's SQLite (nothing on the network yet). */
  static open(input: PlayerClientConfigInput): PlayerClient {
    const config = PlayerClientConfigSchema.parse(input);
    return new PlayerClient(config, LocalStore.open(config.dbPath, config.playerId));
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
    this.eventsNc = null;
    this.districtNc = null;
    await this.stopConsumers();
    this.inbox?.unsubscribe();
    this.inbox = null;
    this.flush(); // what already arrived is applied; anything later is replayed from the checkpoint
    this.pending = [];
    if (events !== null && events !== district) await events.close();
    await district?.close();
  }

  async close(): Promise<void> {
    await this.disconnect();
    this.store.close();
  }

  /** The player entered an event: subscribe from the start of the stream (a late joiner catches up). */
  async join(eventUid: string): Promise<void> {
    subjectFilterFor(eventUid); // validates the UID before anything is stored
    if (this.store.checkpointOf(eventUid) === undefined) {
      if (this.store.subscriptions().length >= this.config.subscriptionsMax) {
        throw new Error(`player ${this.config.playerId}: ${this.config.subscriptionsMax} subscriptions already (subscriptionsMax); leave ended events first`);
      }
      this.store.addSubscription(eventUid, Date.now());
    }
    if (this.online) await this.reconcile();
  }

  /** Subscribes to every event of the login feed (see login_feed.ts). */
  async joinAll(eventUids: readonly string[]): Promise<void> {
    for (const e of eventUids) await this.join(e);
  }

  async leave(eventUid: string): Promise<void> {
    const c = this.consumers.get(eventUid);
    this.consumers.delete(eventUid);
    c?.messages.stop();
    if (c !== undefined) await deleteQuietly(c.consumer);
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
        if (this.online && this.reconcileTimer === null && (this.eventsNc === null || this.consumers.size < this.store.subscriptions().length)) {
          this.reconcileTimer = setTimeout(() => {
            this.reconcileTimer = null;
            void this.reconcile();
          }, RECONNECT_WAIT_MS);
        }
      });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.online) return;
    if (this.eventsNc === null) {
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
    for (const c of old) c.messages.stop();
    await Promise.all(old.map((c) => deleteQuietly(c.consumer)));
  }

  private async startConsumer(eventUid: string): Promise<void> {
    const nc = this.eventsNc;
    if (nc === null) return;
    const checkpoint = this.store.checkpointOf(eventUid) ?? 0;
    const js = jetstream(nc);
    // One filter subject per consumer (nats-server 2.9.10 has no multi-filter consumers): the event's subjects.
    const consumer = await js.consumers.get(this.config.stream, {
      filter_subjects: subjectFilterFor(eventUid),
      ...(checkpoint === 0 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: checkpoint + 1 }),
    });
    if (this.eventsNc !== nc || !this.online) return; // disconnected meanwhile
    const messages = await consumer.consume({
      max_messages: this.config.consumerBufferMessages,
      expires: this.config.consumerExpiresMs,
      callback: (m: JsMsg) => this.onStreamMessage(eventUid, m),
    });
    const entry = { consumer, messages };
    this.consumers.set(eventUid, entry);
    // A consumer that gives up (e.g. the stream was unreachable too long) is restarted from the checkpoint.
    void messages.closed().then(() => {
      if (this.consumers.get(eventUid) !== entry) return;
      this.consumers.delete(eventUid);
      if (this.online) void this.reconcile();
    });
  }

  private onStreamMessage(eventUid: string, m: JsMsg): void {
    this.pending.push({ eventUid, streamSeq: m.info.streamSequence, data: m.data });
    if (this.pending.length >= this.config.applyBatchMax) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      // A short linger lets a replay fill batches (one fsync each) instead of committing per socket read.
      if (this.config.applyLingerMs === 0) setImmediate(() => this.flush());
      else setTimeout(() => this.flush(), this.config.applyLingerMs);
    }
  }

  /** Applies what arrived as one SQLite transaction (one fsync for the whole batch). */
  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      const r = this.store.applyStream(batch, Date.now());
      this.batchesCommitted++;
      this.record('stream', r);
    } catch (e) {
      // Nothing of the batch was committed: restart the consumers from the checkpoints, which replay it.
      this.lastError = e as Error;
      void this.restartConsumers();
    }
  }

  private async restartConsumers(): Promise<void> {
    await this.stopConsumers();
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
        const r = this.store.applyFallback(parsed.data.packages, Date.now());
        this.record('district', r);
        reply = { applied: r.applied, duplicates: r.duplicates };
      } catch (e) {
        this.lastError = e as Error;
        reply = { error: `apply failed: ${(e as Error).message}` };
      }
    }
    msg.respond(encoder.encode(JSON.stringify(reply)));
  }

  private record(path: ApplyPath, r: ApplyResult): void {
    const t = this.totals[path];
    t.applied += r.applied;
    t.duplicates += r.duplicates;
    t.redelivered += r.redelivered;
    t.notForPlayer += r.notForPlayer;
    t.malformed += r.malformed;
    const now = Date.now();
    for (const l of this.listeners) l(path, r, now);
  }
}


function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Best effort: an unreachable server drops the ephemeral consumer itself after its inactive threshold. */
async function deleteQuietly(consumer: Consumer): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    consumer.delete().catch(() => false),
    new Promise((r) => (timer = setTimeout(r, CONSUMER_DELETE_WAIT_MS))),
  ]);
  clearTimeout(timer);
}
